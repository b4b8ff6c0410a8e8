package io.caravan.eventlog;

import java.time.Duration;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code caravan.event-log.kafka.*}: the event log published to Kafka and its subscribers run as consumer groups, for
 * several hubs on one PostgreSQL (README "Several nodes"). Off while {@code bootstrap-servers} is empty.
 *
 * @param bootstrapServers the brokers ({@code host:port,...}); empty: one node, no Kafka
 * @param topic the log's topic (as many partitions as the log); its relay's leadership topic is {@code <topic>.relay}
 * @param replicationFactor for the topics the hub creates; 0: the broker's default
 * @param sessionTimeout how long a silent node keeps its partitions before the others take them over
 * @param properties further Kafka client settings (TLS, SASL: {@code security.protocol}, {@code sasl.jaas.config} -
 *     the secret from an environment variable, never a shipped file)
 */
@ConfigurationProperties("caravan.event-log.kafka")
public record KafkaEventLogProperties(String bootstrapServers, String topic, Integer replicationFactor,
        Duration sessionTimeout, Map<String, String> properties) {

    public KafkaEventLogProperties {
        topic = topic == null || topic.isBlank() ? "caravan.event-log" : topic;
        replicationFactor = replicationFactor == null ? 0 : replicationFactor;
        sessionTimeout = sessionTimeout == null ? Duration.ofSeconds(10) : sessionTimeout;
        properties = properties == null ? Map.of() : Map.copyOf(properties);
    }

    /** The client settings every consumer, producer and admin client of the log starts from. */
    Map<String, Object> client() {
        Map<String, Object> c = new java.util.HashMap<>(properties);
        c.put("bootstrap.servers", bootstrapServers);
        return c;
    }
}
