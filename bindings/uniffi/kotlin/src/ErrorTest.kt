// Every error family with its fields, and what printing values may (not) show.
package bitrix24.callback.tests

import bitrix24.callback.CallbackClient
import bitrix24.callback.CallbackException
import bitrix24.callback.CallbackRequest
import bitrix24.callback.ClientOptions
import bitrix24.callback.DestinationPolicy
import bitrix24.callback.ErrorCode
import bitrix24.callback.OAuthCredentials
import bitrix24.callback.RateLimit
import bitrix24.callback.TokenPair
import bitrix24.callback.classifyResponse
import bitrix24.callback.errorCodeFromStr
import bitrix24.callback.validateRequest
import bitrix24.callback.FakeFaultKind
import bitrix24.callback.FakePortalOptions
import org.junit.Before
import java.time.Duration
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue

class ErrorTest {
    @Before
    fun clean() = Portal.reset()

    @Test
    fun errorCodesHaveStableNames() {
        assertEquals(13, ErrorCode.entries.size)
        for (code in ErrorCode.entries) {
            assertEquals(code, errorCodeFromStr(code.asStr()))
            assertEquals(code != ErrorCode.OUTCOME_UNKNOWN, code.retrySafe(), code.asStr())
        }
        assertEquals("outcome_unknown", ErrorCode.OUTCOME_UNKNOWN.asStr())
        assertEquals("shared_state_unavailable", ErrorCode.SHARED_STATE_UNAVAILABLE.asStr())
        assertNull(errorCodeFromStr("no_such_code"))
    }

    @Test
    fun invalidRequestListsEveryViolation() {
        webhookClient().use { client ->
            val e = expectError<CallbackException.InvalidRequest>(ErrorCode.INVALID_REQUEST) {
                client.startCallbackBlocking(CallbackRequest(fromLine = "", toNumber = "12", text = ""))
            }
            val fields = e.violations.map { it.field }
            assertTrue("FROM_LINE" in fields && "TO_NUMBER" in fields && "TEXT_TO_PRONOUNCE" in fields, "$fields")
            assertTrue(e.violations.all { it.code.isNotBlank() && it.description.isNotBlank() })
            assertNull(e.httpStatus)
            assertNull(e.bitrixCode)
            assertEquals(e.violations, e.details().violations)
            assertEquals(0, Portal.ledger().size, "nothing sent")
        }
        // The same through the free function, without a client.
        val e = expectError<CallbackException.InvalidRequest>(ErrorCode.INVALID_REQUEST) {
            validateRequest(CallbackRequest(fromLine = "reg1", toNumber = "+12015550123", text = "hi", voice = "nosuchvoice"))
        }
        assertEquals(listOf("VOICE"), e.violations.map { it.field })
    }

    @Test
    fun badWebhookAddressDoesNotEchoTheSecret() {
        val e = expectError<CallbackException.InvalidRequest>(ErrorCode.INVALID_REQUEST) {
            CallbackClient.webhook("ftp://portal.example/rest/1/s3cretvalue77/")
        }
        assertTrue(e.violations.any { it.field == "webhook_url" }, "${e.violations}")
        assertFalse("${e.message} $e ${e.violations}".contains("s3cretvalue77"))
    }

    @Test
    fun everyBadOptionIsReportedAtOnce() {
        val bad = ClientOptions(
            timeout = Duration.ZERO,
            deadline = Duration.ZERO,
            rateLimit = RateLimit.Custom(0u, 1.0),
            defaultRegion = "XX",
            destinationPolicy = DestinationPolicy(allowedRegions = listOf("GB", "ZZ")),
        )
        val e = expectError<CallbackException.InvalidRequest>(ErrorCode.INVALID_REQUEST) {
            CallbackClient.webhook(Portal.webhookUrl, bad)
        }
        // One error, every option named as Kotlin spells it, in the order of the record.
        assertEquals(
            listOf(
                "timeout" to "zero",
                "deadline" to "zero",
                "rateLimit" to "invalid",
                "defaultRegion" to "unknown_region",
                "destinationPolicy.allowedRegions" to "unknown_region",
            ),
            e.violations.map { it.field to it.code },
        )
        assertTrue(e.violations.all { it.description.isNotBlank() }, "${e.violations}")
        assertEquals(e.violations, e.details().violations)
    }

    @Test
    fun destinationBlockedByRegion() {
        val policy = DestinationPolicy(allowedRegions = listOf("DE"))
        webhookClient(options(policy = policy)).use { client ->
            val e = expectError<CallbackException.DestinationBlocked>(ErrorCode.DESTINATION_BLOCKED) {
                client.startCallbackBlocking(request())
            }
            assertNull(e.httpStatus)
            assertEquals(0, Portal.ledger().size, "nothing sent")
        }
    }

    @Test
    fun destinationBlockedByCooldown() {
        webhookClient().use { client ->
            val number = Numbers.fresh()
            client.startCallbackBlocking(request(number))
            expectError<CallbackException.DestinationBlocked>(ErrorCode.DESTINATION_BLOCKED) {
                client.startCallbackBlocking(request(number))
            }
            assertEquals(1, Portal.ledger().size)
        }
    }

    @Test
    fun rateLimitedByThePortal() {
        Portal.fault(FakeFaultKind.QueryLimit, times = 1000)
        webhookClient(options(deadline = Duration.ofSeconds(2))).use { client ->
            val e = expectError<CallbackException.RateLimited>(ErrorCode.RATE_LIMITED) {
                client.startCallbackBlocking(request())
            }
            assertEquals("QUERY_LIMIT_EXCEEDED", e.bitrixCode)
            assertEquals(503.toUShort(), e.httpStatus)
            assertEquals(0, Portal.ledger().size)
        }
    }

    @Test
    fun operationTimeLimit() {
        Portal.fault(FakeFaultKind.OperationTimeLimit, times = 1000)
        webhookClient(options(deadline = Duration.ofSeconds(2))).use { client ->
            val e = expectError<CallbackException.OperationTimeLimit>(ErrorCode.OPERATION_TIME_LIMIT) {
                client.startCallbackBlocking(request())
            }
            assertEquals("OPERATION_TIME_LIMIT", e.bitrixCode)
            assertEquals(429.toUShort(), e.httpStatus)
        }
    }

    @Test
    fun authFailedWithAWrongWebhookSecret() {
        val wrong = Portal.webhookUrl.trimEnd('/').substringBeforeLast('/') + "/wrongsecret0000000001/"
        CallbackClient.webhook(wrong, options()).use { client ->
            val e = expectError<CallbackException.AuthFailed>(ErrorCode.AUTH_FAILED) { client.linesBlocking() }
            assertNotNull(e.httpStatus)
            assertFalse("${e.message} $e".contains("wrongsecret0000000001"), "secret echoed: $e")
        }
    }

    @Test
    fun insufficientScope() {
        Portal.update(FakePortalOptions(webhookScopes = listOf("crm")))
        try {
            webhookClient().use { client ->
                val e = expectError<CallbackException.InsufficientScope>(ErrorCode.INSUFFICIENT_SCOPE) {
                    client.startCallbackBlocking(request())
                }
                assertEquals("insufficient_scope", e.bitrixCode)
                assertNotNull(e.httpStatus)
            }
        } finally {
            Portal.update(FakePortalOptions(webhookScopes = listOf("call", "telephony")))
        }
    }

    @Test
    fun accessDenied() {
        Portal.update(FakePortalOptions(outgoingCallPermission = false))
        try {
            webhookClient().use { client ->
                val e = expectError<CallbackException.AccessDenied>(ErrorCode.ACCESS_DENIED) {
                    client.startCallbackBlocking(request())
                }
                assertEquals("ACCESS_DENIED", e.bitrixCode)
                assertEquals(403.toUShort(), e.httpStatus)
            }
        } finally {
            Portal.update(FakePortalOptions(outgoingCallPermission = true))
        }
    }

    @Test
    fun lineNotFound() {
        webhookClient().use { client ->
            val e = expectError<CallbackException.LineNotFound>(ErrorCode.LINE_NOT_FOUND) {
                client.startCallbackBlocking(request(line = "nosuchline"))
            }
            assertEquals(400.toUShort(), e.httpStatus)
            assertNotNull(e.bitrixCode)
            assertEquals(0, Portal.ledger().size)
        }
    }

    @Test
    fun numberRejectedIsClassified() {
        // The client validates numbers before sending, so the portal's own refusal is checked
        // through the classifier the client uses.
        val body = """{"error":"ERROR_CORE","error_description":"Phone number is not correct"}"""
        val d = assertNotNull(classifyResponse(400u, body.toByteArray()))
        assertEquals(ErrorCode.NUMBER_REJECTED, d.code)
        assertTrue(d.retrySafe)
        assertEquals("ERROR_CORE", d.bitrixCode)
        assertEquals(400.toUShort(), d.httpStatus)
        assertNull(classifyResponse(200u, """{"result":{"RESULT":true,"CALL_ID":"x"}}""".toByteArray()))
    }

    @Test
    fun portalErrorOnOverload() {
        Portal.fault(FakeFaultKind.Overload, times = 1000)
        webhookClient(options(deadline = Duration.ofSeconds(2))).use { client ->
            val e = expectError<CallbackException.Portal>(ErrorCode.PORTAL_ERROR) {
                client.startCallbackBlocking(request())
            }
            assertEquals("OVERLOAD_LIMIT", e.bitrixCode)
            assertEquals(503.toUShort(), e.httpStatus)
        }
    }

    @Test
    fun transportWhenNothingListens() {
        val closed = java.net.ServerSocket(0).use { it.localPort }
        CallbackClient.webhook("http://127.0.0.1:$closed/rest/1/abcdefghijklmnop/", options()).use { client ->
            val e = expectError<CallbackException.Transport>(ErrorCode.TRANSPORT) { client.linesBlocking() }
            assertNull(e.httpStatus)
            assertFalse("${e.message}".contains("abcdefghijklmnop"))
        }
    }

    @Test
    fun outcomeUnknownWhenTheConnectionDropsAfterExecuting() {
        Portal.fault(FakeFaultKind.CloseAfterExecute)
        webhookClient().use { client ->
            val e = expectError<CallbackException.OutcomeUnknown>(ErrorCode.OUTCOME_UNKNOWN) {
                client.startCallbackBlocking(request())
            }
            assertFalse(e.retrySafe)
            assertEquals(1, Portal.ledger().size, "the portal did place the call")
        }
    }

    @Test
    fun outcomeUnknownOnHtml502AndControllerFailure() {
        Portal.fault(FakeFaultKind.Html502)
        webhookClient().use { client ->
            val e = expectError<CallbackException.OutcomeUnknown>(ErrorCode.OUTCOME_UNKNOWN) {
                client.startCallbackBlocking(request())
            }
            assertEquals(502.toUShort(), e.httpStatus)
            expectError<CallbackException.OutcomeUnknown>(ErrorCode.OUTCOME_UNKNOWN) {
                client.startCallbackBlocking(request("+12015550106"))
            }
        }
    }

    @Test
    fun printedValuesHideSecretsAndNumbers() {
        val creds = OAuthCredentials(
            clientId = "local.app.1", clientSecret = "clientsecretXYZ", accessToken = "accessTOKEN123",
            refreshToken = "refreshTOKEN456", clientEndpoint = "https://p.example/rest/",
            serverEndpoint = "https://oauth.example/rest/",
        )
        val pair = TokenPair("accessTOKEN123", "refreshTOKEN456", 3600u, null, null, null)
        val req = request("+12015550123")
        for (text in listOf(creds.toString(), pair.toString())) {
            for (secret in listOf("clientsecretXYZ", "accessTOKEN123", "refreshTOKEN456")) {
                assertFalse(text.contains(secret), "leak in: $text")
            }
        }
        assertTrue(creds.toString().contains("local.app.1"))
        assertFalse(req.toString().contains("2015550123"), "number in: $req")
        val validated = validateRequest(req)
        assertFalse(validated.toString().contains("2015550123"), "number in: $validated")
        assertEquals("+12015550123", validated.toNumber)
    }

    /** The README's catch clauses: a specific variant first, then any CallbackException. */
    @Test
    fun readmeCatchClauses() {
        Portal.fault(FakeFaultKind.CloseAfterExecute)
        val seen = ArrayList<String>()
        webhookClient().use { client ->
            for (req in listOf(request(), request(line = "nosuchline"))) {
                try {
                    client.startCallbackBlocking(req)
                } catch (e: CallbackException.OutcomeUnknown) {
                    seen += "do not resend"
                } catch (e: CallbackException) {
                    val d = e.details()
                    seen += "${d.code.asStr()} ${d.retrySafe}"
                }
            }
        }
        assertEquals(listOf("do not resend", "line_not_found true"), seen)
    }
}
