// ESM entry point of `bitrix24-callback/testing` (the module itself is CommonJS, testing.js).
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const testing = require('./testing.js')

export const { FakePortal } = testing
export default testing
