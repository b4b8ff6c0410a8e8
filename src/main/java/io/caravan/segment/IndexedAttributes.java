package io.caravan.segment;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.caravan.contact.Contact;
import io.caravan.contact.TriggerEvent;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;

/**
 * What the attribute index holds for one contact: the few facts segments select on, coarse where a segment needs no
 * more (ZIP3, not the address; days, not times). Stored sealed per row ({@code segment_attribute}), held in memory as
 * arrays ({@link AttributeIndex}). Dates are ISO text.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record IndexedAttributes(String birthDate, String gender, String zip3, String state, String language,
        List<String> codes, String lastVisit, String lastDischarge, String appointment) {

    /** A contact is indexed with at most this many codes (the most recent win): a bound on the row's size. */
    static final int MAX_CODES = 64;

    static final IndexedAttributes NONE = new IndexedAttributes(null, null, null, null, null, List.of(), null, null,
            null);

    /**
     * The attributes after an event: demographics from the contact as it is now, codes accumulated (the event's and
     * those on file), visit/discharge/appointment days moved forward only.
     */
    static IndexedAttributes after(IndexedAttributes before, Contact c, TriggerEvent e) {
        IndexedAttributes b = before == null ? NONE : before;
        TreeSet<String> codes = new TreeSet<>(b.codes() == null ? List.of() : b.codes());
        addCodes(codes, c.attributes == null ? null : c.attributes.get("codes"));
        addCodes(codes, e == null || e.data() == null ? null : e.data().get("codes"));
        List<String> kept = new ArrayList<>(codes);
        if (kept.size() > MAX_CODES) {
            kept = kept.subList(kept.size() - MAX_CODES, kept.size());
        }
        String visit = b.lastVisit();
        String discharge = b.lastDischarge();
        String appointment = b.appointment();
        String day = e == null || e.occurredAt() == null ? null : e.occurredAt().toLocalDate().toString();
        if (e != null && day != null) {
            switch (e.type()) {
                case "patient.admitted", "patient.registered" -> visit = later(visit, day);
                case "patient.discharged" -> {
                    visit = later(visit, day);
                    discharge = later(discharge, day);
                }
                case "appointment.booked", "appointment.rescheduled" -> appointment = dayOf(e.data() == null ? null
                        : e.data().get("start"), day);
                case "appointment.cancelled" -> appointment = null;
                default -> {
                }
            }
        }
        String zip = c.address == null ? null : zip3(c.address.postalCode());
        String state = c.address == null || c.address.state() == null ? null
                : c.address.state().trim().toUpperCase(Locale.ROOT);
        return new IndexedAttributes(blankToNull(c.birthDate), blankToNull(c.gender), zip, blankToNull(state),
                blankToNull(c.language), List.copyOf(kept), visit, discharge, appointment);
    }

    private static void addCodes(TreeSet<String> into, Object v) {
        if (v instanceof Collection<?> col) {
            col.forEach(x -> addCodes(into, x));
        } else if (v != null && !String.valueOf(v).isBlank()) {
            into.add(String.valueOf(v).trim().toUpperCase(Locale.ROOT));
        }
    }

    private static String later(String a, String b) {
        return a == null || b.compareTo(a) > 0 ? b : a;
    }

    private static String dayOf(Object time, String otherwise) {
        if (time instanceof String s) {
            try {
                return OffsetDateTime.parse(s).toLocalDate().toString();
            } catch (DateTimeParseException e) {
                try {
                    return LocalDate.parse(s.length() >= 10 ? s.substring(0, 10) : s).toString();
                } catch (DateTimeParseException e2) {
                    return otherwise;
                }
            }
        }
        return otherwise;
    }

    /** The first three digits of a US ZIP code (the coarsest area segments select on), or null. */
    static String zip3(String postalCode) {
        if (postalCode == null) {
            return null;
        }
        String digits = postalCode.trim();
        return digits.length() >= 3 && Character.isDigit(digits.charAt(0)) && Character.isDigit(digits.charAt(1))
                && Character.isDigit(digits.charAt(2)) ? digits.substring(0, 3) : null;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
