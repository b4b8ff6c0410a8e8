package io.caravan;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Each package owns its tables: no SQL in one package on another package's tables (it asks the owner through a
 * method). ArchUnit sees classes, not the SQL in string literals, so this reads the sources: the Flyway migrations
 * for the tables there are, and every SQL statement written in {@code src/main/java} for the tables it names.
 */
class TableOwnershipTest {

    private static final Path MIGRATIONS = Path.of("src/main/resources/db/migration");
    private static final Path SOURCES = Path.of("src/main/java/io/caravan");

    /**
     * The owner of each table, as a package under {@code io.caravan}; its sub-packages share it (a channel plug-in
     * works with the channel's messages). A table a migration creates must be listed here, so a new table gets an
     * owner the day it is created.
     */
    private static final Map<String, String> OWNERS = owners(
            "contact", "contact contact_identifier inbound_message journal_state trigger_event event_log_head"
                    + " event_log_config",
            "eventlog", "event_cursor event_retry",
            "consent", "consent_record",
            "audit", "audit_chain audit_contact audit_entry audit_index_state audit_outbox",
            "channel", "outbound_message channel_suppression",
            "channel.email", "message_event portal_pickup recipient_key",
            "channel.sms", "sms_segment sms_number sms_number_opt_out sms_inbound sms_sent"
                    + " sms_receipt_early sms_reply sms_unsubscribe",
            "workflow", "journey journey_step",
            "stream", "stream_surrogate stream_outbox",
            "ingest", "fhir_export_adapter fhir_export fhir_export_file fhir_subscription fhir_subscription_event"
                    + " fhir_poll_watermark fhir_poll_state",
            "segment", "segment_attribute segment_definition segment_state segment_member segment_attribute_gone",
            "campaign", "campaign campaign_recipient",
            "crypto", "crypto_key",
            // Quartz's own schema (camel-quartz's clustered scheduler): the library's; the cluster package reads who
            // checks in and who fires what (GET /api/cluster)
            "cluster", "qrtz_blob_triggers qrtz_calendars qrtz_cron_triggers qrtz_fired_triggers qrtz_job_details"
                    + " qrtz_locks qrtz_paused_trigger_grps qrtz_scheduler_state qrtz_simple_triggers"
                    + " qrtz_simprop_triggers qrtz_triggers");

    private static final Pattern DDL = Pattern.compile("(?i)create\\s+table\\s+(?:if\\s+not\\s+exists\\s+)?(\\w+)"
            + "|drop\\s+table\\s+(?:if\\s+exists\\s+)?(\\w+)"
            + "|alter\\s+table\\s+(?:if\\s+exists\\s+)?(\\w+)\\s+rename\\s+to\\s+(\\w+)");
    /** A string literal, and literals joined by {@code +} across lines: one SQL statement. */
    private static final Pattern LITERALS = Pattern.compile("\"(?:[^\"\\\\\\n]|\\\\.)*\"(?:\\s*\\+\\s*\"(?:[^\"\\\\\\n]|\\\\.)*\")*");
    private static final Pattern TEXT_BLOCK = Pattern.compile("(?s)\"\"\"(.*?)\"\"\"");
    private static final Pattern TABLE_REF =
            Pattern.compile("(?i)\\b(?:from|join|into|update|table)\\s+(\\w+)");

    @Test
    void everyTableAMigrationCreatesHasAnOwner() throws IOException {
        Set<String> tables = migratedTables();
        assertThat(tables).as("tables the migrations create").isNotEmpty();
        assertThat(OWNERS.keySet()).as("an owner for every table, and no owner for a table that is gone")
                .containsExactlyInAnyOrderElementsOf(tables);
    }

    @Test
    void noPackageRunsSqlOnAnotherPackagesTables() throws IOException {
        Set<String> tables = migratedTables();
        List<String> violations = new ArrayList<>();
        try (Stream<Path> files = Files.walk(SOURCES)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                String pkg = packageOf(f);
                for (Map.Entry<String, Integer> ref : tableReferences(Files.readString(f), tables).entrySet()) {
                    String owner = OWNERS.get(ref.getKey());
                    if (!pkg.equals(owner) && !pkg.startsWith(owner + ".")) {
                        violations.add(SOURCES.relativize(f) + ":" + ref.getValue() + " (" + pkg + ") uses "
                                + ref.getKey() + ", owned by " + owner);
                    }
                }
            }
        }
        assertThat(violations).as("SQL on another package's tables: ask the owning package through a method")
                .isEmpty();
    }

    @Test
    void theScanFindsSqlSplitAcrossConcatenatedLiterals() {
        String source = """
                class X {
                    void f() {
                        jdbc.query("SELECT COUNT(DISTINCT e.message_id) FROM journey_step j JOIN"
                                + " message_event e ON e.message_id = j.message_id", rs -> {});
                        jdbc.update("UPDATE outbound_message SET status = ?", s);
                        log.info("the contact store is ready");
                        jdbc.update(\"\"\"
                                DELETE FROM portal_pickup
                                WHERE expires_at < ?\"\"\", now);
                    }
                }
                """;
        assertThat(tableReferences(source, Set.of("journey_step", "message_event", "outbound_message", "contact",
                "portal_pickup")).keySet())
                .containsExactlyInAnyOrder("journey_step", "message_event", "outbound_message", "portal_pickup");
    }

    /** Tables referenced by SQL in the source's string literals, with the line of the first reference. */
    static Map<String, Integer> tableReferences(String source, Set<String> tables) {
        Map<String, Integer> out = new TreeMap<>();
        // text blocks first, then blanked (keeping their lines) so their quotes do not confuse the literal scan
        StringBuilder rest = new StringBuilder(source);
        Matcher block = TEXT_BLOCK.matcher(source);
        while (block.find()) {
            collect(block.group(1), lineOf(source, block.start()), tables, out);
            for (int i = block.start(); i < block.end(); i++) {
                if (rest.charAt(i) != '\n') {
                    rest.setCharAt(i, ' ');
                }
            }
        }
        Matcher lit = LITERALS.matcher(rest);
        while (lit.find()) {
            collect(lit.group().replaceAll("\"\\s*\\+\\s*\"", ""), lineOf(source, lit.start()), tables, out);
        }
        return out;
    }

    private static void collect(String sql, int line, Set<String> tables, Map<String, Integer> out) {
        Matcher ref = TABLE_REF.matcher(sql);
        while (ref.find()) {
            String table = ref.group(1).toLowerCase(Locale.ROOT);
            if (tables.contains(table)) {
                out.merge(table, line, Math::min);
            }
        }
    }

    private static int lineOf(String source, int offset) {
        return (int) source.substring(0, offset).chars().filter(c -> c == '\n').count() + 1;
    }

    /** Tables that exist after every migration: created and not dropped again. */
    static Set<String> migratedTables() throws IOException {
        // in Flyway's order, statement by statement: a migration may drop a table, or build a new one and rename it
        Set<String> tables = new TreeSet<>();
        List<Path> files;
        try (Stream<Path> list = Files.list(MIGRATIONS)) {
            files = list.filter(p -> p.toString().endsWith(".sql"))
                    .sorted(java.util.Comparator.comparing(TableOwnershipTest::version)).toList();
        }
        for (Path f : files) {
            java.util.regex.Matcher m = DDL.matcher(Files.readString(f));
            while (m.find()) {
                if (m.group(1) != null) {
                    tables.add(m.group(1).toLowerCase(Locale.ROOT));
                } else if (m.group(2) != null) {
                    tables.remove(m.group(2).toLowerCase(Locale.ROOT));
                } else {
                    tables.remove(m.group(3).toLowerCase(Locale.ROOT));
                    tables.add(m.group(4).toLowerCase(Locale.ROOT));
                }
            }
        }
        return tables;
    }

    /** {@code V10_7__x.sql} → 10.7, compared part by part. */
    private static java.math.BigDecimal version(Path f) {
        String name = f.getFileName().toString();
        String v = name.substring(1, name.indexOf("__"));
        String[] parts = v.split("_");
        // two-level versions here (major_minor): major.minor with the minor zero-padded so 10_10 sorts after 10_9
        return new java.math.BigDecimal(parts[0] + "." + String.format("%06d", parts.length > 1
                ? Integer.parseInt(parts[1]) : 0));
    }

    private static String packageOf(Path file) {
        return SOURCES.relativize(file.getParent()).toString().replace(java.io.File.separatorChar, '.');
    }

    private static Map<String, String> owners(String... pairs) {
        Map<String, String> out = new TreeMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            for (String table : pairs[i + 1].trim().split("\\s+")) {
                out.put(table, pairs[i]);
            }
        }
        return out;
    }
}
