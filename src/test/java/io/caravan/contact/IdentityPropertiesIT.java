package io.caravan.contact;

import static org.assertj.core.api.Assertions.assertThat;

import io.caravan.CaravanApplication;
import io.caravan.support.MllpTestClient;
import io.caravan.support.TestHub;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The identity rule as a property, against the real hub (MLLP listener, mapping, contact writer, H2 store): random
 * registrations, updates and merges of patients who share SSNs (real and placeholder), phone numbers and emails never
 * put two MRNs of one assigning authority on one contact unless an A40 joined them, and every message lands on the
 * contact its MRN names. Each try uses MRNs of its own, so tries share one running hub.
 */
class IdentityPropertiesIT {

    static final TestHub HUB = TestHub.named("identity-properties");
    static final DateTimeFormatter TS = DateTimeFormatter.ofPattern("yyyyMMddHHmmssZ");
    static final String RUN = Long.toString(System.nanoTime() % 100_000, 36).toUpperCase();
    static final AtomicInteger TRY = new AtomicInteger();
    static final AtomicInteger CONTROL = new AtomicInteger();
    static final List<String> SSNS = List.of("078-05-1120", "219-09-9999", "999-99-9999", "000-00-0000",
            "123-45-6789", "");
    static final List<String> PHONES = List.of("5550199", "5550100", "5550142");
    static final List<String> EMAILS = List.of("family@example.org", "shared@example.org", "front.desk@example.org");
    static final int PATIENTS = 5;

    static ConfigurableApplicationContext hub;

    @BeforeContainer
    static void start() {
        Map<String, Supplier<Object>> props = new HashMap<>();
        HUB.register(props::put);
        List<String> args = new ArrayList<>(List.of("--server.port=0"));
        props.forEach((k, v) -> args.add("--" + k + "=" + v.get()));
        hub = new SpringApplicationBuilder(CaravanApplication.class).run(args.toArray(String[]::new));
    }

    @AfterContainer
    static void stop() {
        if (hub != null) {
            hub.close();
        }
    }

    /** What a feed does to patient {@code p}: register, update, or merge {@code other} into it. */
    enum Kind { REGISTER, UPDATE, UPDATE_NAMING_ANOTHER_MRN, MERGE }

    record Action(Kind kind, int p, int other, int ssn, int phone, int email) {
        @Override
        public String toString() {
            return kind + "(" + p + (kind == Kind.MERGE || kind == Kind.UPDATE_NAMING_ANOTHER_MRN ? "," + other : "")
                    + " ssn=" + SSNS.get(ssn) + " phone=" + phone + " email=" + email + ")";
        }
    }

    @Provide
    Arbitrary<List<Action>> scenarios() {
        Arbitrary<Action> action = Combinators.combine(
                Arbitraries.frequencyOf(
                        net.jqwik.api.Tuple.of(5, Arbitraries.just(Kind.REGISTER)),
                        net.jqwik.api.Tuple.of(4, Arbitraries.just(Kind.UPDATE)),
                        net.jqwik.api.Tuple.of(1, Arbitraries.just(Kind.UPDATE_NAMING_ANOTHER_MRN)),
                        net.jqwik.api.Tuple.of(1, Arbitraries.just(Kind.MERGE))),
                Arbitraries.integers().between(0, PATIENTS - 1), Arbitraries.integers().between(0, PATIENTS - 1),
                Arbitraries.integers().between(0, SSNS.size() - 1), Arbitraries.integers().between(0, 2),
                Arbitraries.integers().between(0, 2)).as(Action::new);
        return action.list().ofMinSize(2).ofMaxSize(14);
    }

    @Property(tries = 60)
    void identifiersNeverJoinPatientsAndMessagesLandOnTheirMrnsContact(@ForAll("scenarios") List<Action> actions)
            throws Exception {
        String prefix = "R" + RUN + "T" + TRY.incrementAndGet() + "P";
        ContactStore store = hub.getBean(ContactStore.class);
        int[] parent = new int[PATIENTS];
        for (int i = 0; i < PATIENTS; i++) {
            parent[i] = i;
        }
        Set<Integer> known = new HashSet<>();
        Map<String, Integer> sentFor = new HashMap<>();
        OffsetDateTime t = OffsetDateTime.now(ZoneOffset.UTC).minusHours(2);
        try (MllpTestClient c = new MllpTestClient(HUB.mllpPort)) {
            for (Action a : actions) {
                if (a.kind == Kind.MERGE && find(parent, a.p) == find(parent, a.other)) {
                    continue; // merging a record into itself is not a merge
                }
                t = t.plusMinutes(1);
                String control = "IDP" + RUN + "-" + CONTROL.incrementAndGet();
                String message = message(a, prefix, control, t);
                String ack = c.exchange(message, 10_000);
                assertThat(MllpTestClient.msa1(ack)).as(a + ": " + ack).isEqualTo("AA");
                known.add(a.p);
                if (a.kind == Kind.MERGE) {
                    known.add(a.other);
                    parent[find(parent, a.other)] = find(parent, a.p);
                }
                sentFor.put(control, a.p);
            }
        }
        Map<Integer, Contact> contactOf = new HashMap<>();
        for (int p : known) {
            Optional<Contact> found = store.findByIdentifier("MERCY", prefix + p);
            assertThat(found).as("patient " + p + " has a contact").isPresent();
            contactOf.put(p, found.get());
        }
        for (int p : known) {
            Contact cp = contactOf.get(p);
            List<String> mrns = cp.identifiers.stream().filter(i -> "MERCY".equals(i.system()))
                    .map(Identifier::value).sorted().toList();
            List<String> expected = known.stream().filter(q -> find(parent, q) == find(parent, p))
                    .map(q -> prefix + q).sorted().toList();
            assertThat(mrns).as("MERCY MRNs on patient " + p + "'s contact").isEqualTo(expected);
            assertThat(cp.identifiers).as("only linking identifiers").allMatch(i -> "MERCY".equals(i.system()));
            for (int q : known) {
                boolean same = cp.id.equals(contactOf.get(q).id);
                assertThat(same).as("patients " + p + " and " + q + " share a contact")
                        .isEqualTo(find(parent, p) == find(parent, q));
            }
        }
        Map<UUID, Set<String>> controlsByContact = new HashMap<>();
        for (Map.Entry<String, Integer> e : sentFor.entrySet()) {
            UUID id = contactOf.get(e.getValue()).id;
            Set<String> controls = controlsByContact.computeIfAbsent(id, k -> {
                Set<String> s = new HashSet<>();
                store.events(k).forEach(ev -> s.add(ev.source().messageControlId()));
                return s;
            });
            assertThat(controls).as("message " + e.getKey() + " is on its MRN's contact").contains(e.getKey());
        }
    }

    static int find(int[] parent, int i) {
        while (parent[i] != i) {
            i = parent[i];
        }
        return i;
    }

    static String message(Action a, String prefix, String control, OffsetDateTime t) {
        String ts = t.format(TS);
        String mrn = prefix + a.p + "^^^MERCY^MR";
        List<String> cx = new ArrayList<>(List.of(mrn));
        if (a.kind == Kind.UPDATE_NAMING_ANOTHER_MRN && a.other != a.p) {
            cx.add(prefix + a.other + "^^^MERCY^MR");
        }
        if (!SSNS.get(a.ssn).isEmpty()) {
            cx.add(SSNS.get(a.ssn) + "^^^USSSA^SS");
        }
        String trigger = switch (a.kind) {
            case REGISTER -> "A04";
            case MERGE -> "A40";
            default -> "A08";
        };
        String structure = a.kind == Kind.MERGE ? "ADT_A39" : "ADT_A01";
        String pid = "PID|1||" + String.join("~", cx) + "||Patient" + a.p + "^Pat||19800101|F|||"
                + "1 Main St^^Springfield^IL^62704||^PRN^CP^^1^217^" + PHONES.get(a.phone) + "~^NET^Internet^"
                + EMAILS.get(a.email) + "\r";
        String out = "MSH|^~\\&|REGADT|MERCY|CARAVAN|HUB|" + ts + "||ADT^" + trigger + "^" + structure + "|" + control
                + "|P|2.5.1\r" + "EVN|" + trigger + "|" + ts + "\r" + pid;
        if (a.kind == Kind.MERGE) {
            out += "MRG|" + prefix + a.other + "^^^MERCY^MR\r";
        } else {
            out += "PV1|1|O\r";
        }
        return out;
    }
}
