package io.caravan.channel.email.feedback;

import io.caravan.channel.MessageStatus;
import io.caravan.channel.email.EmailProperties;
import io.caravan.crypto.FieldCipher;
import io.caravan.crypto.OpaqueTokens;
import io.caravan.system.Ids;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * Engagement tracking through opaque tokens: an open pixel and click redirects whose URLs carry only an
 * {@link OpaqueTokens} token (the message id and, for a click, the destination) — no PHI and no contact id in any URL, nothing to
 * forge. Opens that come too soon after sending or from a known proxy or scanner, and clicks from scanners, are
 * recorded as {@code bot}: they say nothing about the reader.
 */
@Component
public class Tracking {

    static final String OPEN = "opened";
    static final String CLICK = "clicked";
    static final String UNSUBSCRIBE = "unsubscribed";
    private static final String USE = "tracking-v1";
    private static final Pattern LINK = Pattern.compile("href=\"(https?://[^\"]+)\"");
    /** Fetches by these are machines: mail privacy proxies and prefetchers, security link scanners, crawlers. */
    private static final Pattern MACHINE = Pattern.compile(
            "googleimageproxy|yahoomailproxy|bot|crawler|spider|preview|scanner|safelinks|proofpoint|mimecast"
                    + "|barracuda|curl|wget|python-requests|go-http-client|java/");
    /** An open this soon after sending is a prefetch on delivery, not a person. */
    private static final Duration PREFETCH_WINDOW = Duration.ofSeconds(2);

    /** What a token stands for. */
    public record Target(UUID messageId, String url) {
    }

    private final OpaqueTokens tokens;
    private final JdbcTemplate jdbc;
    private final EmailProperties props;
    private final Clock clock;

    /** Null: engagement is not logged (unit tests of the queries alone). */
    private final io.caravan.channel.MessageEvents events;

    public Tracking(FieldCipher cipher, JdbcTemplate jdbc, EmailProperties props, Clock clock) {
        this(cipher, jdbc, props, clock, null);
    }

    @org.springframework.beans.factory.annotation.Autowired
    public Tracking(FieldCipher cipher, JdbcTemplate jdbc, EmailProperties props, Clock clock,
            io.caravan.channel.MessageEvents events) {
        this.tokens = new OpaqueTokens(cipher);
        this.jdbc = jdbc;
        this.props = props;
        this.clock = clock;
        this.events = events;
    }

    /** The HTML with its links sent through click redirects (except the hub's own) and an open pixel added. */
    public String instrument(UUID messageId, String html) {
        Matcher m = LINK.matcher(html);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String url = m.group(1).replace("&amp;", "&");
            String replacement = url.startsWith(props.publicBaseUrl()) ? m.group(0)
                    : "href=\"" + props.publicBaseUrl() + "/t/c/" + token(messageId, url) + "\"";
            m.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(out);
        String pixel = "<img src=\"" + props.publicBaseUrl() + "/t/o/" + token(messageId, "") + "\" width=\"1\""
                + " height=\"1\" alt=\"\">";
        int body = out.lastIndexOf("</body>");
        return body >= 0 ? out.insert(body, pixel).toString() : out.append(pixel).toString();
    }

    String token(UUID messageId, String url) {
        byte[] u = url.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(16 + u.length);
        b.putLong(messageId.getMostSignificantBits()).putLong(messageId.getLeastSignificantBits()).put(u);
        return tokens.issue(USE, b.array());
    }

    /** The target of a genuine token; empty for anything else. */
    public Optional<Target> open(String token) {
        return tokens.open(USE, token).filter(bytes -> bytes.length >= 16).map(bytes -> {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            UUID id = new UUID(b.getLong(), b.getLong());
            byte[] u = new byte[b.remaining()];
            b.get(u);
            return new Target(id, new String(u, StandardCharsets.UTF_8));
        });
    }

    /** Records an open or a click of a sent message; returns false for a message the hub does not know. */
    public boolean record(UUID messageId, String type, String userAgent, String method) {
        record Sent(UUID contactId, Instant at) {
        }
        // a delivery report (delivered) comes before most opens: the message is still one that was sent
        java.util.List<Sent> rows = jdbc.query("SELECT contact_id, updated_at FROM outbound_message WHERE id = ?"
                + " AND status IN (?, ?)", (rs, n) -> new Sent(rs.getObject(1, UUID.class),
                        rs.getTimestamp(2).toInstant()),
                messageId, MessageStatus.SENT.value(), MessageStatus.DELIVERED.value());
        if (rows.isEmpty()) {
            return false;
        }
        Instant now = clock.instant();
        Instant sent = rows.get(0).at();
        String ua = userAgent == null ? "" : userAgent.toLowerCase(Locale.ROOT);
        boolean bot = ua.isBlank() || MACHINE.matcher(ua).find() || "HEAD".equals(method)
                || OPEN.equals(type) && Duration.between(sent, now).compareTo(PREFETCH_WINDOW) < 0;
        java.util.function.BooleanSupplier insert = () -> jdbc.update("INSERT INTO message_event (id, message_id,"
                + " contact_id, type, bot, at) VALUES (?, ?, ?, ?, ?, ?)", Ids.next(), messageId,
                rows.get(0).contactId(), type, bot, Timestamp.from(now)) == 1;
        if (bot || events == null) {
            // a machine's fetch says nothing about the reader: kept for the record, never published as engagement
            insert.getAsBoolean();
        } else {
            events.logged(messageId, type, now, insert);
        }
        return true;
    }

    /**
     * A one-click unsubscribe from a marketing email's link: kept against the message, once however often the link
     * is posted, as a person's act (RFC 8058 clients post only when the reader asks; a scanner's GET changes nothing).
     */
    @org.springframework.context.event.EventListener
    @org.springframework.transaction.annotation.Transactional
    public void unsubscribed(io.caravan.consent.Unsubscribed u) {
        if ("email".equals(u.channel())) {
            unsubscribed(u.messageId());
        }
    }

    /**
     * Records the unsubscribe; false for a message the hub does not know or one that has it already. In a
     * transaction, the message's row is locked first: a client posting the link twice at once counts once.
     */
    public boolean unsubscribed(UUID messageId) {
        java.util.List<UUID> contact = jdbc.queryForList("SELECT contact_id FROM outbound_message WHERE id = ?"
                + " FOR UPDATE", UUID.class, messageId);
        if (contact.isEmpty()) {
            return false;
        }
        Instant now = clock.instant();
        java.util.function.BooleanSupplier insert = () -> jdbc.update("INSERT INTO message_event (id, message_id,"
                + " contact_id, type, bot, at) SELECT ?, ?, ?, ?, FALSE, ? WHERE NOT EXISTS (SELECT 1 FROM"
                + " message_event WHERE message_id = ? AND type = ?)", Ids.next(), messageId, contact.get(0),
                UNSUBSCRIBE, Timestamp.from(now), messageId, UNSUBSCRIBE) == 1;
        return events == null ? insert.getAsBoolean() : events.logged(messageId, UNSUBSCRIBE, now, insert);
    }

    /** How many of these messages a person (not a machine) opened / clicked / unsubscribed from. */
    public long engagedCount(java.util.Collection<UUID> messageIds, String type) {
        return count(messageIds, type, "message_id IN (%s) AND type = ? AND bot = FALSE");
    }

    /**
     * How many of these messages machines opened / clicked and no person did (a privacy proxy's or a scanner's
     * fetch): a campaign report's bot figures, apart from people's.
     */
    public long machineCount(java.util.Collection<UUID> messageIds, String type) {
        return count(messageIds, type, "message_id IN (%s) AND type = ? AND bot = TRUE AND NOT EXISTS (SELECT 1 FROM"
                + " message_event p WHERE p.message_id = message_event.message_id AND p.type = message_event.type"
                + " AND p.bot = FALSE)");
    }

    private long count(java.util.Collection<UUID> messageIds, String type, String where) {
        java.util.List<UUID> ids = java.util.List.copyOf(new java.util.LinkedHashSet<>(messageIds));
        long n = 0;
        for (int from = 0; from < ids.size(); from += 500) {
            java.util.List<UUID> chunk = ids.subList(from, Math.min(ids.size(), from + 500));
            java.util.List<Object> args = new java.util.ArrayList<>(chunk);
            args.add(type);
            Long c = jdbc.queryForObject("SELECT COUNT(DISTINCT message_id) FROM message_event WHERE "
                    + where.formatted("?,".repeat(chunk.size() - 1) + "?"), Long.class, args.toArray());
            n += c == null ? 0 : c;
        }
        return n;
    }

    /** Contacts a person (not a machine) opened / clicked a message of: a segment's {@code opened()}. */
    public java.util.Set<UUID> engagedContacts(String type) {
        return new java.util.HashSet<>(jdbc.queryForList("SELECT DISTINCT contact_id FROM message_event WHERE type = ?"
                + " AND bot = FALSE", UUID.class, type));
    }

    /** Whether a person (not a machine) opened / clicked the message. */
    public boolean engaged(UUID messageId, String type) {
        Integer n = jdbc.queryForObject("SELECT COUNT(*) FROM message_event WHERE message_id = ? AND type = ?"
                + " AND bot = FALSE", Integer.class, messageId, type);
        return n != null && n > 0;
    }
}
