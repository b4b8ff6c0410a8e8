package io.caravan.channel.sms;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A text as it goes over the air: GSM 03.38 7-bit when every character is in the default alphabet or its extension
 * table (an extension character costs two septets), UCS-2 otherwise; one segment up to 160 septets / 70 UTF-16 units,
 * else concatenated segments of 153 / 67 with a UDH (IEI 0x00, 8-bit reference). A segment never ends inside an
 * escape pair or a surrogate pair, so each segment decodes on its own.
 *
 * <p>The 7-bit bytes are unpacked septets, one per octet, as SMPP's {@code short_message} carries data coding 0.
 */
public final class SmsText {

    public enum Alphabet {
        GSM7("gsm-7", (byte) 0x00, 160, 153),
        UCS2("ucs-2", (byte) 0x08, 70, 67);

        public final String code;
        public final byte dataCoding;
        final int single;
        final int multi;

        Alphabet(String code, byte dataCoding, int single, int multi) {
            this.code = code;
            this.dataCoding = dataCoding;
            this.single = single;
            this.multi = multi;
        }
    }

    /**
     * An encoded text: its alphabet, its length in septets (GSM-7) or UTF-16 units (UCS-2), and the segments as
     * submitted (each with its UDH when there is more than one).
     */
    public record Encoded(Alphabet alphabet, int units, List<byte[]> segments) {
        public int segmentCount() {
            return segments.size();
        }
    }

    private static final String BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001BÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
            + "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    private static final Map<Character, Integer> EXTENSION = Map.of('\f', 0x0A, '^', 0x14, '{', 0x28, '}', 0x29,
            '\\', 0x2F, '[', 0x3C, '~', 0x3D, ']', 0x3E, '|', 0x40, '€', 0x65);
    private static final int ESC = 0x1B;
    private static final AtomicInteger REFERENCE = new AtomicInteger();

    static {
        if (BASIC.length() != 128) {
            throw new ExceptionInInitializerError("GSM 03.38 table has " + BASIC.length() + " characters");
        }
    }

    private SmsText() {
    }

    /** Whether every character fits GSM 03.38 (the default alphabet or its extension table). */
    public static boolean isGsm7(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if ((BASIC.indexOf(c) < 0 || c == ESC) && !EXTENSION.containsKey(c)) {
                return false;
            }
        }
        return true;
    }

    public static Encoded encode(String text) {
        return isGsm7(text) ? gsm7(text) : ucs2(text);
    }

    private static Encoded gsm7(String text) {
        List<byte[]> units = new ArrayList<>(text.length()); // one entry per character: 1 or 2 septets
        int septets = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            Integer ext = EXTENSION.get(c);
            byte[] u = ext != null ? new byte[] {(byte) ESC, ext.byteValue()} : new byte[] {(byte) BASIC.indexOf(c)};
            units.add(u);
            septets += u.length;
        }
        return new Encoded(Alphabet.GSM7, septets, segments(units, septets, Alphabet.GSM7));
    }

    private static Encoded ucs2(String text) {
        List<byte[]> units = new ArrayList<>();
        int count = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            String one = new String(Character.toChars(cp));
            units.add(one.getBytes(StandardCharsets.UTF_16BE));
            count += one.length();
            i += one.length();
        }
        return new Encoded(Alphabet.UCS2, count, segments(units, count, Alphabet.UCS2));
    }

    /** Packs characters into segments, never splitting one (escape or surrogate pair) across two. */
    private static List<byte[]> segments(List<byte[]> chars, int total, Alphabet a) {
        int width = a == Alphabet.UCS2 ? 2 : 1; // bytes per counted unit
        if (total <= a.single) {
            ByteArrayOutputStream one = new ByteArrayOutputStream();
            chars.forEach(one::writeBytes);
            return List.of(one.toByteArray());
        }
        List<ByteArrayOutputStream> parts = new ArrayList<>();
        ByteArrayOutputStream cur = new ByteArrayOutputStream();
        int used = 0;
        for (byte[] c : chars) {
            int n = c.length / width;
            if (used + n > a.multi) {
                parts.add(cur);
                cur = new ByteArrayOutputStream();
                used = 0;
            }
            cur.writeBytes(c);
            used += n;
        }
        parts.add(cur);
        if (parts.size() > 255) {
            throw new IllegalArgumentException("text too long for concatenated SMS (" + parts.size() + " segments)");
        }
        byte ref = (byte) REFERENCE.incrementAndGet();
        List<byte[]> out = new ArrayList<>(parts.size());
        for (int i = 0; i < parts.size(); i++) {
            ByteArrayOutputStream s = new ByteArrayOutputStream();
            // UDH: length 5, IEI 0x00 (concatenated, 8-bit reference), IE length 3, reference, total, sequence
            s.writeBytes(new byte[] {0x05, 0x00, 0x03, ref, (byte) parts.size(), (byte) (i + 1)});
            s.writeBytes(parts.get(i).toByteArray());
            out.add(s.toByteArray());
        }
        return out;
    }

    /** Decodes what {@link #encode} produced for one unsegmented GSM-7 text (tests, and inbound MO texts). */
    public static String decodeGsm7(byte[] septets) {
        StringBuilder b = new StringBuilder(septets.length);
        for (int i = 0; i < septets.length; i++) {
            int s = septets[i] & 0x7F;
            if (s == ESC && i + 1 < septets.length) {
                int e = septets[++i] & 0x7F;
                char found = '?';
                for (Map.Entry<Character, Integer> x : EXTENSION.entrySet()) {
                    if (x.getValue() == e) {
                        found = x.getKey();
                    }
                }
                b.append(found);
            } else {
                b.append(BASIC.charAt(s));
            }
        }
        return b.toString();
    }
}
