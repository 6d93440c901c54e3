// ESM entry point: the package itself is CommonJS (index.js); this file re-exports exactly the
// same names (a test compares the two sets), so that
// `import { Client, CallbackError, ErrorCode } from 'bitrix24-callback'` works.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const binding = require('./index.js')

export const {
  CallbackError,
  CallOutcome,
  Client,
  classifyResponse,
  ErrorCode,
  errorCodes,
  knownVoices,
  maskNumber,
  MAX_TEXT_CHARS,
  NumberType,
  parseEvent,
  validateRequest,
  version,
  __napiBindingTarget,
} = binding
export default binding
