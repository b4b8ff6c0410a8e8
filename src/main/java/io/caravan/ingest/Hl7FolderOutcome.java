package io.caravan.ingest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.apache.camel.Exchange;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

/**
 * The end of a watched-folder file (routes/hl7-folder-ingest.yaml): once every message in it has an answer, the file
 * is deleted when all were accepted (the hub keeps each message sealed; {@code keep-done} copies it to {@code .done/}
 * first), otherwise copied to {@code .failed/} beside a {@code <name>.outcome.json} that says, per message, what the
 * ACK would have said over MLLP, for the operator to fix. The outcome names control ids, ACK codes, error codes and
 * locations only - never a value from the message. The route's file consumer deletes the original after this step.
 */
@Component("hl7FolderOutcome")
public class Hl7FolderOutcome {

    public static final String DONE = ".done";
    public static final String FAILED = ".failed";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final boolean keepDone;

    public Hl7FolderOutcome(@Value("${caravan.intake.hl7v2-folder.keep-done:false}") boolean keepDone) {
        this.keepDone = keepDone;
    }

    /**
     * The store did not confirm a message: nothing is decided, so the file stays where it is and is read again at
     * the next poll (messages already committed are then answered as duplicates).
     */
    public static final class ResendLater extends RuntimeException {
        public ResendLater() {
            this("the store did not confirm a message; the file is read again");
        }

        public ResendLater(String message) {
            super(message);
        }
    }

    public void finish(Exchange exchange) throws IOException {
        @SuppressWarnings("unchecked")
        List<Hl7Ingest.Received> answers = exchange.getIn().getBody(List.class);
        boolean allAccepted = answers.stream().allMatch(Hl7Ingest.Received::accepted);
        String name = exchange.getIn().getHeader(Exchange.FILE_NAME_ONLY, String.class);
        Path parent = Path.of(exchange.getIn().getHeader(Exchange.FILE_PARENT, String.class));
        Path file = parent.resolve(name);
        if (allAccepted) {
            if (keepDone) {
                copy(file, parent.resolve(DONE));
            }
            return;
        }
        Path failed = parent.resolve(FAILED);
        Files.createDirectories(failed);
        ObjectNode doc = JSON.createObjectNode();
        doc.put("file", name);
        doc.put("messages", answers.size());
        doc.put("accepted", answers.stream().filter(Hl7Ingest.Received::accepted).count());
        ArrayNode list = doc.putArray("outcomes");
        int index = 0;
        for (Hl7Ingest.Received r : answers) {
            ObjectNode o = list.addObject();
            o.put("index", ++index);
            o.put("controlId", r.controlId());
            o.put("ack", r.code());
            o.put("outcome", switch (r.code().charAt(1)) {
                case 'A' -> "accepted";
                case 'E' -> "error";
                default -> "rejected";
            });
            if (r.errorCode() != null) {
                o.put("errorCode", r.errorCode());
            }
            if (r.location() != null) {
                o.put("location", r.location());
            }
        }
        // written before the file is copied and deleted: after a crash in between, the file is read again and both
        // are written again
        Path tmp = failed.resolve("." + name + ".outcome.json.tmp");
        Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(doc));
        Files.move(tmp, failed.resolve(name + ".outcome.json"), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
        copy(file, failed);
    }

    /** Into {@code dir} under the same name, whole or not at all (a hidden temporary name, then an atomic rename). */
    private static void copy(Path file, Path dir) throws IOException {
        Files.createDirectories(dir);
        Path tmp = dir.resolve("." + file.getFileName() + ".tmp");
        Files.copy(file, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmp, dir.resolve(file.getFileName()), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
    }
}
