package io.caravan.contact;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The identifiers of a patient that do not link (SSN, licence, insurance number), kept as one contact attribute. */
public final class OtherIdentifiers {

    /** The attribute under which the other identifiers are kept (a list of {system, value, type}). */
    public static final String ATTRIBUTE = "otherIdentifiers";

    private OtherIdentifiers() {
    }

    /** The attribute value for the other identifiers: plain maps, so it reads back the same from the sealed JSON. */
    public static List<Map<String, String>> asAttribute(List<Identifier> others) {
        List<Map<String, String>> out = new ArrayList<>();
        for (Identifier id : others) {
            Map<String, String> m = new LinkedHashMap<>();
            if (id.system() != null) {
                m.put("system", id.system());
            }
            m.put("value", id.value());
            if (id.type() != null) {
                m.put("type", id.type());
            }
            out.add(m);
        }
        return out;
    }
}
