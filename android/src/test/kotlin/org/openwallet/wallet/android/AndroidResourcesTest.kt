package org.openwallet.wallet.android

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.w3c.dom.Element
import java.io.File
import javax.xml.parsers.DocumentBuilderFactory

/**
 * The library's manifest and AID registration as an Android build would merge them (no AAPT
 * here: the XML is checked directly).
 */
class AndroidResourcesTest {
    private val android = "http://schemas.android.com/apk/res/android"

    private fun parse(path: String): Element =
        DocumentBuilderFactory.newInstance().apply { isNamespaceAware = true }
            .newDocumentBuilder().parse(File(path)).documentElement

    private fun Element.children(tag: String): List<Element> =
        getElementsByTagName(tag).let { list -> (0 until list.length).map { list.item(it) as Element } }

    @Test
    fun `the HCE service is registered for the payment category with the PPSE and UnionPay AIDs`() {
        val service = parse("src/main/AndroidManifest.xml").children("service").single()
        assertEquals(WalletHceService::class.java.name, service.getAttributeNS(android, "name"))
        assertEquals("android.permission.BIND_NFC_SERVICE", service.getAttributeNS(android, "permission"))
        assertEquals("true", service.getAttributeNS(android, "exported"))
        assertEquals(
            "android.nfc.cardemulation.action.HOST_APDU_SERVICE",
            service.children("action").single().getAttributeNS(android, "name"),
        )
        assertEquals("@xml/apduservice", service.children("meta-data").single().getAttributeNS(android, "resource"))

        val apdu = parse("src/main/res/xml/apduservice.xml")
        assertEquals("true", apdu.getAttributeNS(android, "requireDeviceUnlock"))
        val group = apdu.children("aid-group").single()
        assertEquals("payment", group.getAttributeNS(android, "category"))
        val aids = group.children("aid-filter").map { it.getAttributeNS(android, "name") }
        assertEquals("2PAY.SYS.DDF01".toByteArray().toHex(), aids.first())
        assertTrue(aids.drop(1).all { it.startsWith("A000000333") }, "$aids")
        assertTrue("A000000333010101" in aids && "A000000333010102" in aids)
    }

    @Test
    fun `consumer R8 rules keep JNA and the generated bindings`() {
        val rules = File("consumer-rules.pro").readLines().map { it.trim() }
        assertTrue("-keep class com.sun.jna.** { *; }" in rules)
        assertTrue("-keep class org.openwallet.ffi.** { *; }" in rules)
    }
}
