package io.caravan.mapping;

import io.caravan.contact.Identifier;
import io.caravan.contact.LinkingIdentifiers;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Splits the identifiers a message carries into the ones that link it to a contact and the ones that are only
 * attributes of the patient (BRIEF.md "Identity"). An SSN, a driver's licence or an insurance number is shared,
 * reused, mistyped and sent as a placeholder: linking on it made different patients one contact. Only identifiers a
 * source assigns to one patient (its MRN-type identifiers) link; one per assigning authority and message, since a
 * second MRN of the same authority names a second patient (only an A40 joins them).
 */
public final class IdentityRule implements LinkingIdentifiers {

    private static final AdapterProfile.Identity DEFAULTS = new AdapterProfile.Identity();
    private static final Pattern SSN = Pattern.compile("(\\d{3})-?(\\d{2})-?(\\d{4})");

    /** The identifiers that link, those kept as attributes, and what was dropped (as warnings). */
    public record Split(List<Identifier> linking, List<Identifier> others, List<String> warnings) {
    }

    private final Set<String> linkingTypes;
    private final boolean linkUntyped;
    private final String defaultAuthority;
    private final Set<String> placeholders;
    private final Set<String> placeholderDigits;
    private final List<String> fallback;

    public IdentityRule(AdapterProfile.Identity identity) {
        AdapterProfile.Identity i = identity == null ? DEFAULTS : identity;
        this.linkingTypes = Set.copyOf(upper(i.linkingTypes == null ? DEFAULTS.linkingTypes : i.linkingTypes));
        this.linkUntyped = !"attribute".equalsIgnoreCase(i.untyped);
        this.defaultAuthority = i.assigningAuthority == null || i.assigningAuthority.isBlank() ? null
                : i.assigningAuthority;
        List<String> ph = i.placeholders == null ? DEFAULTS.placeholders : i.placeholders;
        this.placeholders = Set.copyOf(ph);
        this.placeholderDigits = Set.copyOf(ph.stream().map(IdentityRule::bare).toList());
        this.fallback = List.copyOf(i.fallback == null ? DEFAULTS.fallback : i.fallback);
    }

    public static IdentityRule of(FeedMappings feed) {
        return new IdentityRule(feed.adapter() == null ? null : feed.adapter().identity);
    }

    /** Where to look for the patient id, in order, when PID-3 has none that links (e.g. PID-2, PID-4). */
    public List<String> fallback() {
        return fallback;
    }

    /** One identifier on its own: whether it links (a contact's store, unlike a message, may hold several). */
    @Override
    public boolean links(Identifier id) {
        return !split(List.of(id), "identifiers").linking().isEmpty();
    }

    /** Splits {@code ids} (in message order) for the HL7 {@code location} they came from (e.g. PID-3). */
    public Split split(List<Identifier> ids, String location) {
        List<Identifier> linking = new ArrayList<>();
        List<Identifier> others = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        for (Identifier id : ids) {
            String type = id.type() == null ? null : id.type().toUpperCase(Locale.ROOT);
            boolean links = type == null ? linkUntyped : linkingTypes.contains(type);
            if (links) {
                if (placeholders.contains(id.value())) {
                    warnings.add(location + ": placeholder identifier dropped");
                    continue;
                }
                Identifier l = id.system() == null && defaultAuthority != null
                        ? new Identifier(defaultAuthority, id.value(), id.type()) : id;
                if (linking.stream().anyMatch(o -> java.util.Objects.equals(o.system(), l.system()))) {
                    // a second MRN of one authority in one message: another patient's, or a merge not sent as A40
                    warnings.add(location + ": second identifier of one assigning authority ignored");
                    continue;
                }
                linking.add(l);
            } else {
                if (placeholderDigits.contains(bare(id.value())) || ("SS".equals(type) && !validSsn(id.value()))) {
                    warnings.add(location + ": placeholder identifier dropped");
                    continue;
                }
                if (others.stream().noneMatch(o -> o.key().equals(id.key()))) {
                    others.add(id);
                }
            }
        }
        return new Split(List.copyOf(linking), List.copyOf(others), List.copyOf(warnings));
    }

    /** SSA never issues area 000, 666 or 9xx, group 00 or serial 0000: such a "number" is a placeholder. */
    static boolean validSsn(String value) {
        var m = SSN.matcher(value.trim());
        if (!m.matches()) {
            return true; // not in SSN shape: keep it, it is still not a linking key
        }
        int area = Integer.parseInt(m.group(1));
        return area != 0 && area != 666 && area < 900 && !m.group(2).equals("00") && !m.group(3).equals("0000");
    }

    private static String bare(String v) {
        return v.replaceAll("[^0-9A-Za-z]", "").toUpperCase(Locale.ROOT);
    }

    private static List<String> upper(List<String> l) {
        return l.stream().map(s -> s.toUpperCase(Locale.ROOT)).toList();
    }
}
