package io.caravan.channel;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.caravan.workflow.JourneyStatus;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Statuses are enums in the code and the same lower-case words as before in the database and the JSON. */
class MessageStatusTest {

    @Test
    void theWordsStoredBeforeTheEnumStillReadBack() {
        for (String stored : List.of("planned", "blocked", "sent", "failed", "deferred", "delivered", "bounced")) {
            assertThat(MessageStatus.of(stored).value()).isEqualTo(stored);
        }
        for (String stored : List.of("active", "completed", "exited")) {
            assertThat(JourneyStatus.of(stored).value()).isEqualTo(stored);
        }
    }

    @Test
    void theApiAnswersTheLowerCaseWord() throws Exception {
        ObjectMapper json = new ObjectMapper().registerModule(new JavaTimeModule());
        OutboundMessage m = new OutboundMessage(UUID.randomUUID(), UUID.randomUUID(), "email", "treatment",
                "appointment-reminder", MessageStatus.SENT, "smime", List.of(), Instant.EPOCH, Instant.EPOCH);
        assertThat(json.readTree(json.writeValueAsString(m)).get("status").asText()).isEqualTo("sent");
        assertThat(json.writeValueAsString(MessageStatus.CLICKED)).isEqualTo("\"clicked\"");
        assertThat(json.writeValueAsString(JourneyStatus.EXITED)).isEqualTo("\"exited\"");
    }
}
