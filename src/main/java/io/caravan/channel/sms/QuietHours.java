package io.caravan.channel.sms;

import com.google.i18n.phonenumbers.PhoneNumberToTimeZonesMapper;
import io.caravan.contact.Address;
import io.caravan.contact.Contact;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * TCPA quiet hours: texts only between {@code from} and {@code to} in the recipient's local time - the zone of the
 * contact's address (US state), else the zones libphonenumber maps the number to (all of them must be inside the
 * window when a number spans several), else the adapter's. A state may have a stricter window (e.g. Florida's
 * 08:00-20:00). Outside it the text waits until the window opens.
 */
public final class QuietHours {

    public record Window(LocalTime from, LocalTime to) {
        static Window parse(String s) {
            String[] p = s.split("-");
            return new Window(LocalTime.parse(p[0].trim()), LocalTime.parse(p[1].trim()));
        }
    }

    /** Primary zone per US state and territory (a state across two zones gets the zone most of its people live in). */
    static final Map<String, String> STATE_ZONES = Map.ofEntries(
            Map.entry("AL", "America/Chicago"), Map.entry("AK", "America/Anchorage"), Map.entry("AZ", "America/Phoenix"),
            Map.entry("AR", "America/Chicago"), Map.entry("CA", "America/Los_Angeles"), Map.entry("CO", "America/Denver"),
            Map.entry("CT", "America/New_York"), Map.entry("DE", "America/New_York"), Map.entry("DC", "America/New_York"),
            Map.entry("FL", "America/New_York"), Map.entry("GA", "America/New_York"), Map.entry("HI", "Pacific/Honolulu"),
            Map.entry("ID", "America/Boise"), Map.entry("IL", "America/Chicago"), Map.entry("IN", "America/Indiana/Indianapolis"),
            Map.entry("IA", "America/Chicago"), Map.entry("KS", "America/Chicago"), Map.entry("KY", "America/New_York"),
            Map.entry("LA", "America/Chicago"), Map.entry("ME", "America/New_York"), Map.entry("MD", "America/New_York"),
            Map.entry("MA", "America/New_York"), Map.entry("MI", "America/Detroit"), Map.entry("MN", "America/Chicago"),
            Map.entry("MS", "America/Chicago"), Map.entry("MO", "America/Chicago"), Map.entry("MT", "America/Denver"),
            Map.entry("NE", "America/Chicago"), Map.entry("NV", "America/Los_Angeles"), Map.entry("NH", "America/New_York"),
            Map.entry("NJ", "America/New_York"), Map.entry("NM", "America/Denver"), Map.entry("NY", "America/New_York"),
            Map.entry("NC", "America/New_York"), Map.entry("ND", "America/Chicago"), Map.entry("OH", "America/New_York"),
            Map.entry("OK", "America/Chicago"), Map.entry("OR", "America/Los_Angeles"), Map.entry("PA", "America/New_York"),
            Map.entry("RI", "America/New_York"), Map.entry("SC", "America/New_York"), Map.entry("SD", "America/Chicago"),
            Map.entry("TN", "America/Chicago"), Map.entry("TX", "America/Chicago"), Map.entry("UT", "America/Denver"),
            Map.entry("VT", "America/New_York"), Map.entry("VA", "America/New_York"), Map.entry("WA", "America/Los_Angeles"),
            Map.entry("WV", "America/New_York"), Map.entry("WI", "America/Chicago"), Map.entry("WY", "America/Denver"),
            Map.entry("PR", "America/Puerto_Rico"), Map.entry("GU", "Pacific/Guam"), Map.entry("VI", "America/St_Thomas"));

    private final Window window;
    private final Map<String, Window> states;
    private final ZoneId fallback;

    public QuietHours(Window window, Map<String, Window> states, ZoneId fallback) {
        this.window = window;
        this.states = states;
        this.fallback = fallback;
    }

    /** The zones the recipient may be in: the address's state, else the number's, else the adapter's. */
    public List<ZoneId> zones(Contact c, String e164) {
        Optional<String> state = state(c);
        if (state.isPresent() && STATE_ZONES.containsKey(state.get())) {
            return List.of(ZoneId.of(STATE_ZONES.get(state.get())));
        }
        List<ZoneId> zones = new ArrayList<>();
        SmsNumbers.parse(e164).ifPresent(n -> {
            for (String z : PhoneNumberToTimeZonesMapper.getInstance().getTimeZonesForNumber(n)) {
                if (!PhoneNumberToTimeZonesMapper.getUnknownTimeZone().equals(z)) {
                    zones.add(ZoneId.of(z));
                }
            }
        });
        return zones.isEmpty() ? List.of(fallback) : zones;
    }

    /** When the text may go: empty when the window is open now in every zone, else the first instant it is. */
    public Optional<Instant> waitUntil(Instant now, Contact c, String e164) {
        Window w = state(c).map(states::get).orElse(window);
        Instant open = now;
        // the latest opening over the zones; re-checked because opening in one zone may be closing in another
        for (int round = 0; round < 3; round++) {
            Instant latest = open;
            for (ZoneId z : zones(c, e164)) {
                Instant o = opening(latest, z, w);
                if (o.isAfter(latest)) {
                    latest = o;
                }
            }
            if (latest.equals(open)) {
                return open.equals(now) ? Optional.empty() : Optional.of(open);
            }
            open = latest;
        }
        return Optional.of(open);
    }

    /** The instant the window is open at {@code t} in {@code zone}: {@code t} itself, or its next opening. */
    static Instant opening(Instant t, ZoneId zone, Window w) {
        ZonedDateTime local = t.atZone(zone);
        LocalTime time = local.toLocalTime();
        if (!time.isBefore(w.from()) && time.isBefore(w.to())) {
            return t;
        }
        ZonedDateTime next = local.with(w.from());
        if (!time.isBefore(w.from())) {
            next = next.plusDays(1);
        }
        return next.toInstant();
    }

    private static Optional<String> state(Contact c) {
        Address a = c == null ? null : c.address;
        if (a == null || a.state() == null) {
            return Optional.empty();
        }
        String country = a.country() == null ? "US" : a.country().toUpperCase(Locale.ROOT);
        if (!country.equals("US") && !country.equals("USA")) {
            return Optional.empty();
        }
        return Optional.of(a.state().trim().toUpperCase(Locale.ROOT));
    }
}
