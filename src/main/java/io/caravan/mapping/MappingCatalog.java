package io.caravan.mapping;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.springframework.stereotype.Component;

/**
 * Loads and validates every declarative mapping file and adapter once, at start-up, and resolves the mappings in force
 * per feed. Unknown keys, bad paths, missing references or a file not named after what it maps fail loudly with every
 * problem listed.
 */
@Component
public class MappingCatalog {

    static final Set<String> CONTACT_FIELDS = Set.of("identifiers", "name", "birthDate", "gender", "telecom",
            "language", "address");
    private static final Pattern EVENT_TYPE = Pattern.compile("[a-z]+\\.[a-z][a-z-]*");
    private static final Pattern TRIGGER = Pattern.compile("[A-Z][A-Z0-9]{2}\\^[A-Z0-9]{3}");
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");

    private static final ObjectMapper YAML = JsonMapper.builder(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .build();

    private final FeedMappings defaultFeed;
    private final List<FeedMappings> adapterFeeds;
    private final Set<String> messageTypes;
    private final List<AdapterProfile> adapters;

    @org.springframework.beans.factory.annotation.Autowired
    public MappingCatalog(MappingProperties props) {
        this(props.hl7v2Dir(), props.adaptersDir(), props.phoneRegion(), props.timeZone());
    }

    public MappingCatalog(Path hl7v2Dir, Path adaptersDir, String phoneRegion, String timeZone) {
        List<String> problems = new ArrayList<>();
        Map<String, ValueMap> valueMaps = new LinkedHashMap<>();
        for (Path f : yamlFiles(hl7v2Dir.resolve("value-maps"), problems)) {
            ValueMap vm = read(f, ValueMap.class, problems);
            if (vm != null) {
                expectName(f, vm.name, problems);
                valueMaps.put(vm.name, vm);
            }
        }
        Map<String, SegmentMapping> segments = new LinkedHashMap<>();
        for (Path f : yamlFiles(hl7v2Dir.resolve("segments"), problems)) {
            SegmentMapping s = read(f, SegmentMapping.class, problems);
            if (s != null) {
                expectName(f, s.segment, problems);
                segments.put(s.segment, s);
            }
        }
        Map<String, MessageMapping> messages = new LinkedHashMap<>();
        for (Path f : yamlFiles(hl7v2Dir, problems)) {
            MessageMapping m = read(f, MessageMapping.class, problems);
            if (m == null) {
                continue;
            }
            if (m.trigger == null || !TRIGGER.matcher(m.trigger).matches()) {
                problems.add(f + ": trigger must look like ADT^A01");
                continue;
            }
            expectName(f, m.trigger.replace('^', '_'), problems);
            if (messages.put(m.trigger, m) != null) {
                problems.add(f + ": trigger " + m.trigger + " is mapped twice");
            }
        }
        ValueMaps maps = new ValueMaps(Collections.unmodifiableMap(valueMaps));
        checkSegments(segments, maps, problems, "mappings");
        checkMessages(messages, segments, maps, problems);
        if (messages.isEmpty()) {
            problems.add(hl7v2Dir + ": no message mappings found");
        }

        List<AdapterProfile> adapters = new ArrayList<>();
        Set<String> ids = new TreeSet<>();
        for (Path f : yamlFiles(adaptersDir, problems)) {
            AdapterProfile a = read(f, AdapterProfile.class, problems);
            if (a == null) {
                continue;
            }
            if (a.id == null || !ID.matcher(a.id).matches()) {
                problems.add(f + ": id must be lower-case letters, digits and dashes");
                continue;
            }
            expectName(f, a.id, problems);
            if (!ids.add(a.id)) {
                problems.add(f + ": adapter id " + a.id + " is used twice");
            }
            if (!Set.of("signed", "pending", "none", "not-applicable").contains(a.baa.status)) {
                problems.add(f + ": baa.status must be signed, pending, none or not-applicable");
            }
            if (a.timeZone != null) {
                try {
                    ZoneId.of(a.timeZone);
                } catch (RuntimeException e) {
                    problems.add(f + ": unknown timeZone " + a.timeZone);
                }
            }
            if ("smtp".equals(a.kind)) {
                checkSmtp(f, a.smtp, problems);
            }
            if ("smpp".equals(a.kind)) {
                checkSmpp(f, a.smpp, problems);
            }
            if ("fhir".equals(a.kind) && a.fhir != null) {
                FhirPollSettings.checkAdapter(f, a.fhir, problems);
            }
            if (a.identity != null && a.identity.fallback != null) {
                for (String path : a.identity.fallback) {
                    if (path == null || !FieldRule.PATH.matcher(path).matches()) {
                        problems.add(f + ": identity.fallback '" + path + "' is not an HL7 field (e.g. PID-2)");
                    }
                }
            }
            adapters.add(a);
        }

        ZoneId zone = ZoneId.of(timeZone);
        this.defaultFeed = new FeedMappings("default", null, Collections.unmodifiableMap(messages),
                Collections.unmodifiableMap(segments), maps, phoneRegion, zone);
        List<FeedMappings> feeds = new ArrayList<>();
        for (AdapterProfile a : adapters) {
            if (!"hl7v2-mllp".equals(a.kind)) {
                continue;
            }
            FeedMappings fm = withOverrides(a, messages, segments, maps, phoneRegion, zone, problems);
            if (fm != null) {
                feeds.add(fm);
            }
        }
        if (!problems.isEmpty()) {
            throw new CatalogException(problems);
        }
        this.adapterFeeds = List.copyOf(feeds);
        this.adapters = List.copyOf(adapters);
        Set<String> types = new TreeSet<>();
        messages.keySet().forEach(t -> types.add(t.substring(0, 3)));
        this.messageTypes = Collections.unmodifiableSet(types);
    }

    /** The mappings for a sender: the first adapter whose {@code match} fits MSH-3/MSH-4, else the default feed. */
    public FeedMappings feedFor(String sendingApplication, String sendingFacility) {
        for (FeedMappings f : adapterFeeds) {
            AdapterProfile.Match m = f.adapter().match;
            if (m == null) {
                continue;
            }
            boolean app = m.sendingApplication == null || m.sendingApplication.equals(sendingApplication);
            boolean fac = m.sendingFacility == null || m.sendingFacility.equals(sendingFacility);
            if (app && fac) {
                return f;
            }
        }
        return defaultFeed;
    }

    public FeedMappings defaultFeed() {
        return defaultFeed;
    }

    public List<FeedMappings> adapterFeeds() {
        return adapterFeeds;
    }

    /** Every adapter, of every kind (EHR feeds, queue destinations…). */
    private static void checkSmtp(Path f, AdapterProfile.Smtp s, List<String> problems) {
        if (s == null) {
            problems.add(f + ": kind smtp needs an smtp section (host, port, tls)");
            return;
        }
        if (s.port == null || s.port < 1 || s.port > 65535) {
            problems.add(f + ": smtp.port must be 1-65535");
        }
        if (!Set.of("starttls", "implicit").contains(s.tls)) {
            problems.add(f + ": smtp.tls must be starttls or implicit (never plaintext)");
        }
        if (!Set.of("guaranteed", "opportunistic").contains(s.onwardTls)) {
            problems.add(f + ": smtp.onwardTls must be guaranteed or opportunistic");
        }
        if ((s.usernameEnv == null) != (s.passwordEnv == null)) {
            problems.add(f + ": smtp.usernameEnv and smtp.passwordEnv go together");
        }
        if (s.connections == null || s.connections < 1) {
            problems.add(f + ": smtp.connections must be at least 1");
        }
        if (s.trustCertificates != null && !Files.isRegularFile(Path.of(s.trustCertificates))) {
            problems.add(f + ": smtp.trustCertificates " + s.trustCertificates + " is not a file");
        }
    }

    private static void checkSmpp(Path f, AdapterProfile.Smpp s, List<String> problems) {
        if (s == null) {
            problems.add(f + ": kind smpp needs an smpp section (host, port, systemId, sourceAddress)");
            return;
        }
        if (s.port == null || s.port < 1 || s.port > 65535) {
            problems.add(f + ": smpp.port must be 1-65535");
        }
        if (!Set.of("transceiver", "transmitter").contains(s.bindType)) {
            problems.add(f + ": smpp.bindType must be transceiver or transmitter");
        }
        if (s.systemId == null || s.systemId.isEmpty() || s.systemId.length() > 15) {
            problems.add(f + ": smpp.systemId must be 1-15 characters (SMPP 3.4)");
        }
        if (s.sourceAddress == null || s.sourceAddress.isEmpty() || s.sourceAddress.length() > 20) {
            problems.add(f + ": smpp.sourceAddress must be 1-20 characters");
        }
        if (s.throughput == null || s.throughput < 1) {
            problems.add(f + ": smpp.throughput must be at least 1 (messages per second)");
        }
        if (s.windowSize == null || s.windowSize < 1) {
            problems.add(f + ": smpp.windowSize must be at least 1");
        }
        if (s.timeZone != null) {
            try {
                ZoneId.of(s.timeZone);
            } catch (RuntimeException e) {
                problems.add(f + ": unknown smpp.timeZone " + s.timeZone);
            }
        }
    }

    public List<AdapterProfile> adapters() {
        return adapters;
    }

    /** MSH-9.1 message types that have at least one mapping (ADT, ORU, SIU…). Others are answered AR. */
    public Set<String> messageTypes() {
        return messageTypes;
    }

    private static FeedMappings withOverrides(AdapterProfile a, Map<String, MessageMapping> baseMessages,
            Map<String, SegmentMapping> baseSegments, ValueMaps maps, String region, ZoneId zone,
            List<String> problems) {
        Map<String, SegmentMapping> segments = new LinkedHashMap<>(baseSegments);
        String where = "adapter " + a.id;
        for (Map.Entry<String, SegmentMapping> e : a.mappings.segments.entrySet()) {
            SegmentMapping override = e.getValue();
            if (override.segment == null) {
                override.segment = e.getKey();
            }
            SegmentMapping base = segments.get(e.getKey());
            SegmentMapping merged = base == null ? override : base.copy();
            if (base != null) {
                merged.contact.putAll(override.contact);
                merged.attributes.putAll(override.attributes);
                merged.restrictions.putAll(override.restrictions);
            }
            segments.put(e.getKey(), merged);
        }
        Map<String, MessageMapping> messages = new LinkedHashMap<>();
        baseMessages.forEach((k, v) -> messages.put(k, v.copy()));
        for (Map.Entry<String, AdapterProfile.MessageOverride> e : a.mappings.messages.entrySet()) {
            MessageMapping m = messages.get(e.getKey());
            if (m == null) {
                problems.add(where + ": overrides " + e.getKey() + ", which has no base mapping");
                continue;
            }
            m.data.putAll(e.getValue().data);
            List<String> segs = new ArrayList<>(m.segments);
            segs.addAll(e.getValue().addSegments);
            m.segments = List.copyOf(segs);
        }
        checkSegments(segments, maps, problems, where);
        checkMessages(messages, segments, maps, problems);
        return new FeedMappings(a.id, a, Collections.unmodifiableMap(messages), Collections.unmodifiableMap(segments),
                maps, a.phoneRegion != null ? a.phoneRegion : region,
                a.timeZone != null ? ZoneId.of(a.timeZone) : zone);
    }

    private static void checkSegments(Map<String, SegmentMapping> segments, ValueMaps maps, List<String> problems,
            String where) {
        for (SegmentMapping s : segments.values()) {
            String w = where + " segment " + s.segment;
            s.contact.forEach((field, rule) -> {
                if (!CONTACT_FIELDS.contains(field)) {
                    problems.add(w + ": unknown contact field '" + field + "' (use attributes for others)");
                }
                checkRule(w + " " + field, rule, maps, problems);
            });
            s.attributes.forEach((k, rule) -> checkRule(w + " attribute " + k, rule, maps, problems));
            s.restrictions.forEach((k, rule) -> {
                checkRule(w + " restriction " + k, rule, maps, problems);
                if (rule.kind != FieldRule.Kind.FLAG) {
                    problems.add(w + " restriction " + k + ": must be 'as: flag'");
                }
            });
        }
    }

    private static void checkMessages(Map<String, MessageMapping> messages, Map<String, SegmentMapping> segments,
            ValueMaps maps, List<String> problems) {
        for (MessageMapping m : messages.values()) {
            String w = "mapping " + m.trigger;
            if (m.event == null || !EVENT_TYPE.matcher(m.event).matches()) {
                problems.add(w + ": event must look like patient.admitted");
            }
            for (String s : m.segments) {
                if (!segments.containsKey(s)) {
                    problems.add(w + ": no segment mapping " + s);
                }
            }
            if (m.mergeFrom != null) {
                checkRule(w + " mergeFrom", m.mergeFrom, maps, problems);
            }
            m.data.forEach((k, rule) -> checkRule(w + " data " + k, rule, maps, problems));
        }
    }

    private static void checkRule(String where, FieldRule rule, ValueMaps maps, List<String> problems) {
        if (rule == null) {
            problems.add(where + ": empty rule");
            return;
        }
        String p = rule.problem();
        if (p != null) {
            problems.add(where + ": " + p);
        }
        if (rule.map != null && maps.get(rule.map) == null) {
            problems.add(where + ": unknown value map '" + rule.map + "'");
        }
    }

    private static void expectName(Path f, String name, List<String> problems) {
        String file = f.getFileName().toString();
        String base = file.substring(0, file.lastIndexOf('.'));
        if (name != null && !base.equals(name)) {
            problems.add(f + ": file must be named after what it maps (" + name + ".yaml)");
        }
    }

    private static List<Path> yamlFiles(Path dir, List<String> problems) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile)
                    .filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
                    .sorted().toList();
        } catch (IOException e) {
            problems.add(dir + ": cannot list (" + e.getMessage() + ")");
            return List.of();
        }
    }

    static <T> T read(Path f, Class<T> type, List<String> problems) {
        try {
            T value = YAML.readValue(f.toFile(), type);
            if (value == null) {
                problems.add(f + ": empty file");
            }
            return value;
        } catch (IOException e) {
            problems.add(f + ": " + e.getMessage().lines().findFirst().orElse("unreadable"));
            return null;
        }
    }

    /** Every problem found in the declarative files, one per line. */
    public static final class CatalogException extends IllegalStateException {
        private final List<String> problems;

        CatalogException(List<String> problems) {
            super("Invalid mapping or adapter files:\n  " + String.join("\n  ", problems));
            this.problems = List.copyOf(problems);
        }

        public List<String> problems() {
            return problems;
        }
    }
}
