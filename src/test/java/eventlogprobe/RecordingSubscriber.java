package eventlogprobe;

import io.caravan.contact.ContactStore.LoggedEvent;
import io.caravan.eventlog.EventSubscriber;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * A second event-log subscriber for the kill -9 test, added to the packaged hub by {@code spring.main.sources} (its
 * package is outside io.caravan, so no test context scans it). It records each event it acts on in a table of its
 * own without a key - acting twice would show as two rows - and takes its time per event, so that a kill lands while
 * its cursor lags the workflow engine's.
 */
@Component
public class RecordingSubscriber implements EventSubscriber {

    private final JdbcTemplate jdbc;
    private final long delayMillis;

    public RecordingSubscriber(JdbcTemplate jdbc, @Value("${probe.delay-ms:0}") long delayMillis) {
        this.jdbc = jdbc;
        this.delayMillis = delayMillis;
        jdbc.execute("CREATE TABLE IF NOT EXISTS probe_acted (log_partition INT NOT NULL, position BIGINT NOT NULL,"
                + " event_id UUID NOT NULL)");
    }

    @Override
    public String subscriberName() {
        return "probe";
    }

    @Override
    public void onEvent(LoggedEvent event) {
        jdbc.update("INSERT INTO probe_acted (log_partition, position, event_id) VALUES (?, ?, ?)", event.partition(),
                event.position(), event.event().id());
        if (delayMillis > 0) {
            try {
                Thread.sleep(delayMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted");
            }
        }
    }
}
