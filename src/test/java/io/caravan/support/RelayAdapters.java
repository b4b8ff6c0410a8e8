package io.caravan.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The SMTP relay adapters of the email tests, written as an operator writes {@code adapters/<id>.yaml}. */
public final class RelayAdapters {

    private RelayAdapters() {
    }

    /**
     * Writes {@code <dir>/<id>.yaml}: an SMTP relay on 127.0.0.1:{@code port} with STARTTLS and a signed BAA, plus
     * {@code smtpKeys} (YAML lines under {@code smtp:}, unindented); creates {@code dir} and returns it.
     */
    public static Path smtp(Path dir, String id, int port, String smtpKeys) throws IOException {
        return smtp(dir, id, port, smtpKeys, "status: signed");
    }

    /** The same with the adapter's {@code baa:} keys (YAML lines, unindented). */
    public static Path smtp(Path dir, String id, int port, String smtpKeys, String baaKeys) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(id + ".yaml"), """
                id: %s
                kind: smtp
                baa:
                """.formatted(id) + baaKeys.stripTrailing().indent(2) + """
                smtp:
                  host: 127.0.0.1
                  port: %d
                  tls: starttls
                """.formatted(port) + smtpKeys.stripTrailing().indent(2));
        return dir;
    }
}
