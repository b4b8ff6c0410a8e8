package io.caravan.contact;

import java.time.Instant;
import java.util.List;
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

    /** What applying a message's demographics did: whether the contact changed, and its watermark after it. */
    public record Applied(boolean changed, Instant asOf) {
    }

    /** Applies demographics to the contact whose stored watermark is {@code asOf} (null: none yet). */
    public static Applied applyDemographics(Contact c, ContactPatch patch, Instant eventTime, Instant asOf) {
        if (asOf != null && eventTime.isBefore(asOf)) {
            // an older message still raises a restriction or an opt-out: the most protective value wins, whatever
            // the order the feed delivers in; lifting one follows the order like any other value
            return new Applied(raiseRestrictions(c, patch), asOf);
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
        return new Applied(changed, eventTime);
    }

    /** Raises the restrictions the patch raises (and clears none); returns true when one was added. */
    public static boolean raiseRestrictions(Contact c, ContactPatch patch) {
        boolean changed = false;
        for (Map.Entry<String, Boolean> e : patch.restrictions.entrySet()) {
            if (e.getValue() && !c.restrictions.contains(e.getKey())) {
                c.restrictions.add(e.getKey());
                changed = true;
            }
        }
        return changed;
    }

    /**
     * Folds a merged-away record's protections into the survivor: every restriction and opt-out of either record
     * stays (the most restrictive wins), and a consent-relevant attribute the survivor lacks (a publicity code, a
     * death flag) is taken from the prior record. A protection applies from the earlier start date either record gave,
     * or at once when either gave none. Returns true when the survivor changed.
     */
    public static boolean foldProtections(Contact survivor, Contact prior) {
        boolean sProtected = survivor.restrictions.contains(PROTECTION);
        boolean pProtected = prior.restrictions.contains(PROTECTION);
        Object sSince = survivor.attributes.get(PROTECTION_SINCE);
        Object pSince = prior.attributes.get(PROTECTION_SINCE);
        boolean changed = false;
        for (String r : prior.restrictions) {
            if (!survivor.restrictions.contains(r)) {
                survivor.restrictions.add(r);
                changed = true;
            }
        }
        if (sProtected || pProtected) {
            // a protection without a start date is in force now: it is stricter than any date
            Object since = (sProtected && sSince == null) || (pProtected && pSince == null) ? null
                    : !sProtected ? pSince : !pProtected ? sSince
                    : pSince.toString().compareTo(sSince.toString()) < 0 ? pSince : sSince;
            if (!java.util.Objects.equals(since, sSince)) {
                if (since == null) {
                    survivor.attributes.remove(PROTECTION_SINCE);
                } else {
                    survivor.attributes.put(PROTECTION_SINCE, since);
                }
                changed = true;
            }
        }
        for (String a : MERGED_ATTRIBUTES) {
            Object p = prior.attributes.get(a);
            Object s = survivor.attributes.get(a);
            if (p != null && (s == null || ("deceased".equals(a) && Boolean.TRUE.equals(p) && !p.equals(s)))) {
                survivor.attributes.put(a, p);
                changed = true;
            }
        }
        return changed;
    }

    private static final String PROTECTION = "protection-indicator";
    private static final String PROTECTION_SINCE = "protectionIndicatorEffectiveDate";
    /** Attributes the consent gate reads: kept through a merge when the survivor lacks them. */
    private static final List<String> MERGED_ATTRIBUTES = List.of("publicityCode", "deceased", "deathDateTime");

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
