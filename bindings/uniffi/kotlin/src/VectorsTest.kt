// The shared vectors in tests/vectors/ (owned by the core), run through the free functions.
package bitrix24.callback.tests

import bitrix24.callback.CallbackException
import bitrix24.callback.CallbackRequest
import bitrix24.callback.classifyResponse
import bitrix24.callback.parseEvent
import bitrix24.callback.validateRequest
import org.json.JSONArray
import org.json.JSONObject
import java.io.File
import kotlin.test.Test
import kotlin.test.assertTrue
import kotlin.test.fail

class VectorsTest {
    private fun load(name: String): JSONObject {
        val dir = System.getenv("B24_VECTORS_DIR") ?: "tests/vectors"
        return JSONObject(File(dir, name).readText())
    }

    private fun JSONObject.optStr(key: String): String? = if (isNull(key)) null else optString(key)

    private fun check(name: String, body: (JSONObject, MutableList<String>) -> Unit) {
        val cases = load(name).getJSONArray("cases")
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
            for (j in before until problems.size) problems[j] = "${case.getString("name")}: ${problems[j]}"
        }
        if (problems.isNotEmpty()) fail("$name: ${problems.size} of ${cases.length()} cases failed:\n" + problems.joinToString("\n"))
        println("     $name: ${cases.length()} cases")
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
}
