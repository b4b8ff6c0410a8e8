package io.caravan.contact;

import io.caravan.mapping.ContactPatch;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * How what a message says changes a contact. Pure functions, shared by the store and the golden tests.
 *
 * <ul>
 *   <li>An absent field is "no information" and changes nothing; {@link ContactPatch#DELETE} clears the value.</li>
 *   <li>Data never moves backwards: demographics older than the contact's {@code asOf} are not applied.</li>
 *   <li>Only what differs is written, so an A08 that repeats what we hold is not a change.</li>
 * </ul>
 */
public final class ContactUpdates {

    private ContactUpdates() {
    }

    /** Applies demographics; returns true when the contact changed. {@code asOf} is the stored watermark. */
    public static boolean applyDemographics(Contact c, ContactPatch patch, Instant eventTime, Instant[] asOf) {
        if (asOf[0] != null && eventTime.isBefore(asOf[0])) {
            return false;
        }
        boolean changed = false;
        for (Map.Entry<String, Object> e : patch.fields.entrySet()) {
            Object v = e.getValue() == ContactPatch.DELETE ? null : e.getValue();
            changed |= setField(c, e.getKey(), v);
        }
        for (Map.Entry<String, Object> e : patch.attributes.entrySet()) {
            if (e.getValue() == ContactPatch.DELETE) {
                changed |= c.attributes.remove(e.getKey()) != null;
            } else if (!Objects.equals(c.attributes.get(e.getKey()), e.getValue())) {
                c.attributes.put(e.getKey(), e.getValue());
                changed = true;
            }
        }
        for (Map.Entry<String, Boolean> e : patch.restrictions.entrySet()) {
            if (e.getValue()) {
                if (!c.restrictions.contains(e.getKey())) {
                    c.restrictions.add(e.getKey());
                    changed = true;
                }
            } else {
                changed |= c.restrictions.remove(e.getKey());
            }
        }
        asOf[0] = eventTime;
        return changed;
    }

    /** Adds an identifier the contact lacks; returns true when added. */
    public static boolean addIdentifier(Contact c, Identifier id) {
        if (c.hasIdentifier(id)) {
            return false;
        }
        c.identifiers.add(id);
        return true;
    }

    private static boolean setField(Contact c, String field, Object v) {
        Object old = switch (field) {
            case "name" -> c.name;
            case "birthDate" -> c.birthDate;
            case "gender" -> c.gender;
            case "email" -> c.email;
            case "phone" -> c.phone;
            case "language" -> c.language;
            case "address" -> c.address;
            default -> throw new IllegalArgumentException("unknown contact field " + field);
        };
        if (Objects.equals(old, v)) {
            return false;
        }
        switch (field) {
            case "name" -> c.name = (Name) v;
            case "birthDate" -> c.birthDate = (String) v;
            case "gender" -> c.gender = (String) v;
            case "email" -> c.email = (String) v;
            case "phone" -> c.phone = (String) v;
            case "language" -> c.language = (String) v;
            case "address" -> c.address = (Address) v;
            default -> throw new IllegalArgumentException(field);
        }
        return true;
    }
}
