package io.caravan.contact;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one message says about a contact. A field absent from the patch means "no information" (HL7 empty field);
 * {@link #DELETE} means the sender cleared it (HL7 {@code ""}).
 */
public final class ContactPatch {

    /** Marks a value the sender asked to delete. */
    public static final Object DELETE = new Object() {
        @Override
        public String toString() {
            return "<delete>";
        }
    };

    public final List<Identifier> identifiers = new ArrayList<>();
    /** Standard fields by JSON name: name, birthDate, gender, email, phone, language, address. */
    public final Map<String, Object> fields = new LinkedHashMap<>();
    public final Map<String, Object> attributes = new LinkedHashMap<>();
    /** Restriction code → raised (true) or cleared (false). */
    public final Map<String, Boolean> restrictions = new LinkedHashMap<>();
}
