package io.caravan.mapping;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One external system, from {@code adapters/<id>.yaml}. For an HL7 v2 feed: how its messages are recognised (MSH-3 /
 * MSH-4), its BAA status, regional defaults, and mapping overrides that add or replace rules without forking the base
 * set.
 */
public final class AdapterProfile {

    @JsonProperty(required = true)
    public String id;
    public String name;
    /** {@code hl7v2-mllp} for an EHR feed; later issues add smtp, smpp, kafka… */
    @JsonProperty(required = true)
    public String kind;
    public String description;
    public Match match;
    @JsonProperty(required = true)
    public Baa baa;
    /** ISO 3166 region for phone numbers without a country code. */
    public String phoneRegion;
    /** Zone for HL7 times sent without an offset. */
    public String timeZone;
    public Overrides mappings = new Overrides();
    /** Which of this feed's patient identifiers link records to a contact (see {@link Identity}). */
    public Identity identity = new Identity();
    /** For {@code kind: smtp}: the relay's connection. */
    public Smtp smtp;
    /** For {@code kind: smpp}: the SMSC's connection, the sender identity and the texts it answers with. */
    public Smpp smpp;

    // --- Outbound event streams (io.caravan.stream.StreamDestinations checks these) ---
    /** For {@code kind: webhook}: where events are POSTed, signed. */
    public Webhook webhook;
    /** For {@code kind: kafka}: the cluster and topic. */
    public Kafka kafka;
    /** For {@code kind: webhook} and {@code kafka}: which events go there, and in which form. */
    public Stream stream;

    /** A webhook endpoint (Standard Webhooks). The signing secret comes from an environment variable. */
    public static final class Webhook {
        public String url;
        public String secretEnv;
    }

    /** A Kafka topic. Credentials come from environment variables, never the file. */
    public static final class Kafka {
        public String bootstrapServers;
        public String topic;
        /** {@code PLAINTEXT}, {@code SSL}, {@code SASL_PLAINTEXT} or {@code SASL_SSL}. */
        public String securityProtocol = "PLAINTEXT";
        public String saslMechanism;
        public String usernameEnv;
        public String passwordEnv;
        public String truststore;
        public String truststorePasswordEnv;
        /** Further producer settings (kafka-clients names); idempotence and acks=all cannot be turned off. */
        public Map<String, String> producer = new LinkedHashMap<>();
    }

    /** What a stream destination receives. */
    public static final class Stream {
        /** Event types ({@code patient.registered}, {@code message.opened}…); empty: none. */
        public java.util.List<String> events = java.util.List.of();
        /** A workflow condition ({@code contact.language == 'es'}); empty: every event of the listed types. */
        public String filter;
        /** The purpose the gate is asked about. */
        public String purpose = "marketing";
        /** With a BAA in force: the fields sent (minimum necessary); ignored for the de-identified form. */
        public java.util.List<String> fields = java.util.List.of();
    }

    // --- MLLP sender checks (io.caravan.ingest.MllpSenders) ---
    /** For {@code kind: hl7v2-mllp}: where the feed connects from and which client certificate it shows. */
    public Mllp mllp;
    /** For {@code kind: fhir}: how its resources are read (io.caravan.mapping.fhir). */
    public Fhir fhir;

    /** A FHIR R4 source: its identifier systems in the hub's terms, and the resource types taken. */
    public static final class Fhir {
        /** The server's base URL (names the system of its resource ids); optional for direct POST. */
        public String baseUrl;
        /**
         * FHIR identifier system URI -> the hub's identifier system (HL7 v2: the assigning authority, e.g. MERCY), so
         * one patient sent both ways is one contact. A URI not in the map is kept as the system.
         */
        public java.util.Map<String, String> identifierSystems = java.util.Map.of();
        /** The resource types taken from this source; others are answered "not supported". */
        public java.util.List<String> resourceTypes = java.util.List.of("Patient", "Appointment", "Encounter",
                "Consent");
        /** How the hub authenticates to the server (polling; see FhirAuthSettings). */
        public FhirAuthSettings auth = new FhirAuthSettings();
        /** PEM file of CA certificates to trust besides the JVM's (a private EHR's CA). */
        public String trustCertificates;
        /** Polling the server for changes; absent: not polled (see FhirPollSettings). */
        public FhirPollSettings poll;
        /** Bulk Data {@code $export} from the server; absent: none. */
        public FhirBulkSettings bulk;
        /** Backport subscription notifications from the server; absent: they are refused. */
        public FhirSubscriptionSettings subscription;
    }

    /**
     * What a connection must be for a message that claims (by MSH-3/MSH-4) to come from this feed. Anyone on the
     * network can type another system's name into MSH-3; the address and the certificate are harder to fake.
     */
    public static final class Mllp {
        /** Addresses or CIDR blocks ({@code 10.20.0.0/16}, {@code 192.0.2.7}) the feed connects from; empty: any. */
        public java.util.List<String> allowedSources = java.util.List.of();
        /** Subject DNs of the client certificates the feed presents over TLS ({@code CN=epic,O=Example}); empty: any. */
        public java.util.List<String> clientCertificateSubjects = java.util.List.of();
    }

    /**
     * An SMTP relay. Credentials come from environment variables, never the file.
     *
     * @see io.caravan.channel.email.transport.SmtpRelay
     */
    public static final class Smtp {
        @JsonProperty(required = true)
        public String host;
        @JsonProperty(required = true)
        public Integer port;
        /** {@code starttls} (submission, 587) or {@code implicit} (465). */
        public String tls = "starttls";
        public String usernameEnv;
        public String passwordEnv;
        /** PEM file of extra CA certificates to trust besides the JVM's (a private relay's CA). */
        public String trustCertificates;
        /**
         * {@code guaranteed}: the relay's contract (its BAA) guarantees it hands mail on only over verified TLS, so a
         * verified connection to it counts as enforced TLS to the recipient; {@code opportunistic}: it does not, and
         * PHI without a key on file goes through the portal.
         */
        public String onwardTls = "opportunistic";
        /** Connections kept open and reused, per kind (verified / opportunistic). */
        public Integer connections = 8;
        public String heloName;
    }

    /**
     * An SMSC reached over SMPP 3.4. The password comes from an environment variable, never the file.
     *
     * @see io.caravan.channel.sms
     */
    public static final class Smpp {
        @JsonProperty(required = true)
        public String host;
        @JsonProperty(required = true)
        public Integer port;
        /** TLS to the SMSC, where it offers it (SMPP over TLS on its own port). */
        public boolean tls;
        /** {@code transceiver} (one bind sends and receives), or {@code transmitter} (receipts and MO then need
         *  a receiver bind the SMSC opens to nobody: use transceiver unless the SMSC cannot). */
        public String bindType = "transceiver";
        @JsonProperty(required = true)
        public String systemId;
        public String passwordEnv;
        public String systemType = "";
        /** The sender: a short code, a long code (E.164 without the plus) or an alphanumeric name. */
        @JsonProperty(required = true)
        public String sourceAddress;
        /** SMPP type of number / numbering plan of the source address (short code: 3/0, long code: 1/1, alpha: 5/0). */
        public Integer sourceTon = 1;
        public Integer sourceNpi = 1;
        /** The SMSC's contracted throughput: submits per second at most. */
        public Integer throughput = 100;
        /** Submits waiting for their response at once. */
        public Integer windowSize = 10;
        public Integer enquireLinkSeconds = 30;
        /** First wait after a dropped bind, doubled per failed attempt up to {@code reconnectMaxSeconds}. */
        public Integer reconnectSeconds = 1;
        public Integer reconnectMaxSeconds = 60;
        /** Where a number has no time zone of its own (IANA id). */
        public String timeZone;
        /** Brand or program name, support contact and message frequency for the HELP answer. */
        public String program;
        public String support;
        public String frequency = "Msg frequency varies";
        /**
         * Receipt error codes ({@code err:} of an UNDELIV receipt; GSM MAP causes by default: unknown, unidentified
         * or illegal subscriber, teleservice not provisioned) that mean the number cannot take texts: it is
         * suppressed like a hard email bounce. A REJECTD receipt always is.
         */
        public java.util.List<Integer> permanentErrors = java.util.List.of(1, 5, 9, 11);
        /** Texts the adapter answers with; defaults are built from program and support. */
        public String helpText;
        public String stopText;
        public String startText;
    }

    /**
     * The identity rule of a feed: which identifiers name a patient at this source and so link its messages to one
     * contact. The others (SSNs, driver's licences, insurance numbers…) are kept on the contact as the attribute
     * {@code otherIdentifiers}, never used to link; placeholder values are dropped.
     */
    public static final class Identity {
        /**
         * CX-5 identifier types (HL7 table 0203) that identify a patient at the sending facility: MR medical record
         * number, MRT temporary MRN, PI patient internal identifier, PT patient external identifier.
         */
        public java.util.List<String> linkingTypes = java.util.List.of("MR", "MRT", "PI", "PT");
        /** A CX without CX-5 (common in v2.3 feeds, where PID-3 is the MRN): {@code link} or {@code attribute}. */
        public String untyped = "link";
        /** Assigning authority given to a linking CX sent without CX-4 (null: the empty authority). */
        public String assigningAuthority;
        /**
         * Values that are placeholders, not identifiers: dropped. Compared without punctuation for the attribute
         * identifiers (so 999999999 is 999-99-9999), exactly for linking ones (an MRN 123456789 is the facility's own
         * number).
         */
        public java.util.List<String> placeholders = java.util.List.of("999-99-9999", "000-00-0000", "123-45-6789");
        /**
         * Where to look, in order, when PID-3 holds no identifier that links: v2.3 feeds often send the patient id as
         * PID-2 (external id) or PID-4 (alternate id) with PID-3 empty. The id found goes through this same rule and
         * the message is recorded with a warning naming the field. Empty: PID-3 only.
         */
        public java.util.List<String> fallback = java.util.List.of("PID-2", "PID-4");
    }

    public static final class Match {
        /** MSH-3.1 sending application. */
        public String sendingApplication;
        /** MSH-4.1 sending facility. */
        public String sendingFacility;
    }

    public static final class Baa {
        /** {@code signed}, {@code pending}, {@code none}, or {@code not-applicable} (a covered entity's own system). */
        @JsonProperty(required = true)
        public String status;
        public String reference;
        public String expires;
    }

    public static final class Overrides {
        /** Segment rules added or replaced, by segment name (Z-segments included). */
        public Map<String, SegmentMapping> segments = new LinkedHashMap<>();
        /** Per trigger ({@code ADT^A04}): event data added or replaced, and extra segments. */
        public Map<String, MessageOverride> messages = new LinkedHashMap<>();
    }

    public static final class MessageOverride {
        public Map<String, FieldRule> data = new LinkedHashMap<>();
        public java.util.List<String> addSegments = java.util.List.of();
    }
}
