package io.caravan.channel.sms;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.contact.Address;
import io.caravan.contact.Contact;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Quiet hours in the recipient's local time, with the clock moved across time zones and a stricter state window. */
class QuietHoursTest {

    static final QuietHours HOURS = new QuietHours(QuietHours.Window.parse("08:00-21:00"),
            Map.of("FL", QuietHours.Window.parse("08:00-20:00")), ZoneId.of("America/Chicago"));

    static Contact contact(String state, String country, String phone) {
        Contact c = new Contact();
        c.address = state.isEmpty() ? null : new Address(List.of("1 Main St"), "Town", state, "00000",
                country.isEmpty() ? null : country);
        c.phone = phone.isEmpty() ? null : phone;
        return c;
    }

    @ParameterizedTest(name = "{0}: {1} {2} {3} at {4} -> {5}")
    @CsvSource(delimiter = ';', value = {
            // what;                      state; country; phone;         now (UTC);             waits until (UTC, '' = now)
            "Chicago 07:59 waits;         IL;    US;      '';            2030-01-15T13:59:00Z;  2030-01-15T14:00:00Z",
            "Chicago 08:00 goes;          IL;    US;      '';            2030-01-15T14:00:00Z;  ''",
            "Chicago 20:59 goes;          IL;    US;      '';            2030-01-16T02:59:00Z;  ''",
            "Chicago 21:00 waits a night; IL;    US;      '';            2030-01-16T03:00:00Z;  2030-01-16T14:00:00Z",
            "New York 21:30 waits;        NY;    '';      '';            2030-01-16T02:30:00Z;  2030-01-16T13:00:00Z",
            "LA 06:00 waits for 08:00;    CA;    US;      '';            2030-01-15T14:00:00Z;  2030-01-15T16:00:00Z",
            "Florida 20:30 is too late;   FL;    US;      '';            2030-01-16T01:30:00Z;  2030-01-16T13:00:00Z",
            "Georgia 20:30 is fine;       GA;    US;      '';            2030-01-16T01:30:00Z;  ''",
            "summer time in Chicago;      IL;    US;      '';            2030-07-15T12:59:00Z;  2030-07-15T13:00:00Z",
            "no address: the number (NYC);'';    '';      +12125550123;  2030-01-15T12:30:00Z;  2030-01-15T13:00:00Z",
            "no address: the number (LA); '';    '';      +13105550123;  2030-01-15T15:00:00Z;  2030-01-15T16:00:00Z",
            "foreign address: the number; ON;    CA;      +16135550123;  2030-01-15T12:30:00Z;  2030-01-15T13:00:00Z",
            "nothing known: the adapter;  '';    '';      '';            2030-01-15T13:30:00Z;  2030-01-15T14:00:00Z",
    })
    void textsWaitForTheWindowInTheRecipientsZone(String what, String state, String country, String phone,
            Instant now, String until) {
        Optional<Instant> w = HOURS.waitUntil(now, contact(state, country, phone), phone.isEmpty() ? null : phone);
        if (until.isEmpty()) {
            assertThat(w).as(what).isEmpty();
        } else {
            assertThat(w).as(what).contains(Instant.parse(until));
        }
    }
}
