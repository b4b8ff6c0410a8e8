package io.caravan.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.mapping.AdapterProfile;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A destination file is honoured as written or refused at start-up with every problem named. */
class StreamDestinationsTest {

    static AdapterProfile webhook(String url, String secretEnv, String status, String expires) {
        AdapterProfile a = new AdapterProfile();
        a.id = "crm";
        a.kind = "webhook";
        a.baa = new AdapterProfile.Baa();
        a.baa.status = status;
        a.baa.expires = expires;
        a.webhook = new AdapterProfile.Webhook();
        a.webhook.url = url;
        a.webhook.secretEnv = secretEnv;
        a.stream = new AdapterProfile.Stream();
        a.stream.events = List.of("patient.registered", "message.opened");
        return a;
    }

    static List<String> problems(AdapterProfile a) {
        List<String> p = new ArrayList<>();
        StreamDestinations.check(a, p);
        return p;
    }

    @Test
    void aWellFormedWebhookIsADestinationOfTheGate() {
        StreamDestination d = StreamDestinations.check(webhook("https://crm.example.org/h", "S", "none", null),
                new ArrayList<>());
        assertThat(d.channel()).isEqualTo("webhook:crm");
        assertThat(d.subscriberName()).isEqualTo("stream:crm");
        assertThat(d.purpose()).isEqualTo("marketing");
        assertThat(StreamDestinations.check(webhook("http://127.0.0.1:8099/h", "S", "none", null), new ArrayList<>()))
                .isNotNull();
    }

    @Test
    void plainHttpToAnotherHostAndAMissingSecretAreRefused() {
        assertThat(problems(webhook("http://crm.example.org/h", null, "none", null)))
                .anySatisfy(p -> assertThat(p).contains("must be https"))
                .anySatisfy(p -> assertThat(p).contains("secretEnv"));
    }

    @Test
    void unknownEventsFieldsPurposesAndBadFiltersAreRefused() {
        AdapterProfile a = webhook("https://crm.example.org/h", "S", "signed", "31/12/2027");
        a.stream.events = List.of("patient.registered", "patient.birthday");
        a.stream.fields = List.of("contact.name", "contact.ssn");
        a.stream.purpose = "advertising";
        a.stream.filter = "contact.language ==";
        assertThat(problems(a)).hasSize(5).anySatisfy(p -> assertThat(p).contains("patient.birthday"))
                .anySatisfy(p -> assertThat(p).contains("contact.ssn"))
                .anySatisfy(p -> assertThat(p).contains("purpose"))
                .anySatisfy(p -> assertThat(p).contains("filter"))
                .anySatisfy(p -> assertThat(p).contains("baa.expires"));
    }

    @Test
    void anExpiredBaaCountsAsNone() {
        StreamDestination d = StreamDestinations.check(webhook("https://x.example.org/h", "S", "signed",
                "2026-06-30"), new ArrayList<>());
        assertThat(d.baaInForce(LocalDate.parse("2026-06-30"))).isTrue();
        assertThat(d.baaInForce(LocalDate.parse("2026-07-01"))).isFalse();
        StreamDestination pending = StreamDestinations.check(webhook("https://x.example.org/h", "S", "pending",
                null), new ArrayList<>());
        assertThat(pending.baaInForce(LocalDate.parse("2026-07-01"))).isFalse();
    }
}
