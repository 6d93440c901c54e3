// The shared vectors in tests/vectors/ (owned by the core), run through the free functions and,
// for the destination policy, through CallbackClient.checkCallback.
package bitrix24.callback.tests

import bitrix24.callback.CallbackClient
import bitrix24.callback.CallbackException
import bitrix24.callback.CallbackRequest
import bitrix24.callback.DestinationPolicy
import bitrix24.callback.classifyResponse
import bitrix24.callback.numberTypeFromStr
import bitrix24.callback.parseEvent
import bitrix24.callback.validateRequest
import org.json.JSONArray
import org.json.JSONObject
import java.io.File
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlin.test.fail

/**
 * The `policy` of a policy vector (the core's snake_case option names; absent = default) as the
 * binding's record. An option this function does not know fails the test.
 */
fun policyOf(p: JSONObject): DestinationPolicy {
    var policy = DestinationPolicy()
    for (key in p.keys()) {
        val list = { p.getJSONArray(key).let { a -> (0 until a.length()).map { a.getString(it) } } }
        policy = when (key) {
            "allowed_regions" -> policy.copy(allowedRegions = list())
            "blocked_regions" -> policy.copy(blockedRegions = list())
            "allowed_prefixes" -> policy.copy(allowedPrefixes = list())
            "blocked_prefixes" -> policy.copy(blockedPrefixes = list())
            "block_costly_numbers" -> policy.copy(blockCostlyNumbers = p.getBoolean(key))
            "allowed_number_types" -> policy.copy(
                allowedNumberTypes = list().map { numberTypeFromStr(it) ?: error("unknown number type $it") },
            )
            "high_risk_regions" -> policy.copy(highRiskRegions = list())
            "number_hourly_cap" -> policy.copy(numberHourlyCap = p.getInt(key).toUInt())
            else -> error("a policy option the test does not map: $key")
        }
    }
    return policy
}

class VectorsTest {
    private fun load(name: String): JSONObject {
        val dir = System.getenv("B24_VECTORS_DIR") ?: "tests/vectors"
        return JSONObject(File(dir, name).readText())
    }

    private fun JSONObject.optStr(key: String): String? = if (isNull(key)) null else optString(key)

    private fun check(name: String, section: String = "cases", body: (JSONObject, MutableList<String>) -> Unit) {
        val cases = load(name).getJSONArray(section)
        assertTrue(cases.length() > 0, "$name has no cases")
        val problems = ArrayList<String>()
        for (i in 0 until cases.length()) {
            val case = cases.getJSONObject(i)
            val before = problems.size
            try {
                body(case, problems)
            } catch (e: Exception) {
                problems += "unexpected ${e::class.simpleName}: ${e.message}"
            }
            val label = case.optString("name", case.optString("input"))
            for (j in before until problems.size) problems[j] = "$label: ${problems[j]}"
        }
        if (problems.isNotEmpty()) fail("$name: ${problems.size} of ${cases.length()} cases failed:\n" + problems.joinToString("\n"))
        println("     $name ($section): ${cases.length()} cases")
    }

    private fun pairs(violations: JSONArray): List<Pair<String, String>> =
        (0 until violations.length()).map { violations.getJSONObject(it) }.map { it.getString("field") to it.getString("code") }

    @Test
    fun requests() = check("requests.json") { case, problems ->
        val input = case.getJSONObject("input")
        val expect = case.getJSONObject("expect")
        val request = CallbackRequest(
            fromLine = input.getString("from_line"),
            toNumber = input.getString("to_number"),
            text = input.getString("text"),
            voice = input.optStr("voice"),
        )
        try {
            val validated = validateRequest(request, input.optStr("default_region"), input.optBoolean("allow_unknown_voice", false))
            if (expect.has("wire_body")) {
                if (validated.wireBody != expect.getString("wire_body")) problems += "wire body ${validated.wireBody}"
            } else {
                problems += "accepted, expected violations ${pairs(expect.getJSONArray("violations"))}"
            }
        } catch (e: CallbackException.InvalidRequest) {
            val got = e.violations.map { it.field to it.code }
            if (expect.has("violations")) {
                val want = pairs(expect.getJSONArray("violations"))
                if (got != want) problems += "violations $got, expected $want"
            } else {
                problems += "refused with $got"
            }
        }
    }

    @Test
    fun responses() = check("responses.json") { case, problems ->
        val expect = case.getJSONObject("expect")
        val got = classifyResponse(case.getInt("http_status").toUShort(), case.getString("body").toByteArray())
        if (expect.optBoolean("ok", false)) {
            if (got != null) problems += "classified as ${got.code.asStr()}"
        } else if (got == null) {
            problems += "classified as success, expected ${expect.getString("code")}"
        } else {
            if (got.code.asStr() != expect.getString("code")) problems += "code ${got.code.asStr()}, expected ${expect.getString("code")}"
            if (got.retrySafe != expect.getBoolean("retry_safe")) problems += "retrySafe ${got.retrySafe}"
            if (got.bitrixCode != expect.optStr("bitrix_code")) problems += "bitrixCode ${got.bitrixCode}"
        }
    }

    @Test
    fun events() {
        val token = load("events.json").getString("application_token")
        check("events.json") { case, problems ->
            val expect = case.getJSONObject("expect")
            try {
                val event = parseEvent(case.getString("body").toByteArray(), token)
                if (expect.has("code")) {
                    problems += "parsed, expected ${expect.getString("code")}"
                } else {
                    if (event.event != expect.getString("event")) problems += "event ${event.event}"
                    if (event.callId != expect.optStr("call_id")) problems += "callId ${event.callId}"
                    if (expect.has("outcome") && event.outcome?.asStr() != expect.optStr("outcome")) {
                        problems += "outcome ${event.outcome?.asStr()}"
                    }
                }
            } catch (e: CallbackException) {
                val code = e.details().code.asStr()
                if (!expect.has("code")) problems += "refused with $code: ${e.details().description}"
                else if (code != expect.getString("code")) problems += "code $code, expected ${expect.getString("code")}"
            }
        }
    }

    @Test
    fun policy() {
        Portal.reset()
        check("policy.json") { case, problems ->
            val expect = case.getJSONObject("expect")
            val request = CallbackRequest(fromLine = "reg1", toNumber = case.getString("number"), text = "policy vector")
            CallbackClient.webhook(Portal.webhookUrl, options(policy = policyOf(case.getJSONObject("policy")))).use { client ->
                try {
                    val d = client.checkCallbackBlocking(request)
                    if (expect.has("code")) {
                        problems += "allowed ($d), expected ${expect.getString("code")}"
                    } else {
                        val got = d.region to d.numberType.asStr()
                        val want = expect.optStr("region") to expect.getString("type")
                        if (got != want) problems += "$got, expected $want"
                    }
                } catch (e: CallbackException) {
                    val d = e.details()
                    val got = d.code.asStr() to d.violations.map { it.field to it.code }
                    val want = "destination_blocked" to listOf("TO_NUMBER" to expect.optString("code"))
                    if (!expect.has("code") || got != want) problems += "refused with $got"
                    if (!d.retrySafe) problems += "not retry-safe"
                }
            }
        }
        assertEquals(0, Portal.requests().size, "checkCallback sent something")
    }

    @Test
    fun numberExamples() = check("numbers.json", "examples") { case, problems ->
        val request = CallbackRequest(fromLine = "reg1", toNumber = case.getString("input"), text = "number example")
        try {
            val v = validateRequest(request, case.optStr("region_given"))
            if (!case.getBoolean("valid")) {
                problems += "accepted as ${v.maskedNumber}"
            } else {
                val got = listOf(v.toNumber, v.destinationRegion, v.numberType.asStr())
                val want = listOf(case.getString("e164"), case.optStr("region"), case.getString("type"))
                if (got != want) problems += "$got, expected $want"
            }
        } catch (e: CallbackException.InvalidRequest) {
            if (case.getBoolean("valid")) problems += "refused with ${e.violations.map { it.field to it.code }}"
        }
    }
}
