package io.caravan.workflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.caravan.channel.Template;
import io.caravan.channel.email.EmailTemplates;
import io.caravan.consent.ConsentPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workflows against the registered channels and their templates' requirements: a send step on a channel nobody
 * registered, or one whose data cannot give its template what it requires, stops the start, named.
 */
class WorkflowChannelsTest {

    static final Set<String> PURPOSES = ConsentPolicy.load(Path.of("config/policies")).purposes();
    static final EmailTemplates EMAIL = new EmailTemplates(Path.of("config/templates/email"), PURPOSES);
    static final BiFunction<String, String, Optional<Template>> TEMPLATES = (channel, name) -> switch (channel) {
        case "email" -> EMAIL.get(name).map(t -> new Template(t.name(), t.purpose(), t.content(), t.requires()));
        case "recording" -> "recording-note".equals(name)
                ? Optional.of(new Template(name, "treatment", "phi-free", List.of("note"))) : Optional.empty();
        default -> Optional.empty();
    };
    static final Set<String> CHANNELS = Set.of("email", "recording");

    WorkflowCatalog load(Path dir) {
        return new WorkflowCatalog(dir, PURPOSES, CHANNELS, TEMPLATES);
    }

    Path write(Path dir, String id, String yaml) throws IOException {
        Files.writeString(dir.resolve(id + ".yaml"), yaml);
        return dir;
    }

    void fails(Path dir, String... expected) {
        assertThatThrownBy(() -> load(dir)).isInstanceOfSatisfying(WorkflowCatalog.WorkflowException.class, e -> {
            for (String x : expected) {
                assertThat(e.problems()).as(String.join("\n", e.problems())).anySatisfy(p -> assertThat(p)
                        .contains(x));
            }
        });
    }

    @Test
    void theShippedWorkflowsGiveTheirTemplatesEveryRequiredField() {
        assertThat(load(Path.of("config/workflows")).all()).containsKeys("appointment-reminder",
                "post-discharge-follow-up", "diabetes-education", "birthday-screening");
    }

    @Test
    void aSendStepWithoutTheDataItsTemplateRequiresFailsAtLoad(@TempDir Path tmp) throws IOException {
        fails(write(tmp, "short", """
                id: short
                purpose: treatment
                trigger:
                  event: appointment.booked
                steps:
                  - id: remind
                    send:
                      template: appointment-reminder
                      data:
                        provider: "'Dr Who'"
                """), "short step remind: template appointment-reminder requires data: appointmentDate, "
                + "appointmentTime, clinicPhone");
    }

    @Test
    void anUnknownChannelFailsAtLoadNamingTheRegisteredOnes(@TempDir Path tmp) throws IOException {
        fails(write(tmp, "pigeon", """
                id: pigeon
                purpose: treatment
                channel: carrier-pigeon
                trigger:
                  event: appointment.booked
                steps:
                  - id: remind
                    send:
                      template: appointment-reminder-notice
                      channel: smoke-signal
                      data:
                        clinicPhone: "'+1 217 555 0100'"
                """), "pigeon: unknown channel carrier-pigeon; registered channels: [email, recording]",
                "pigeon step remind: unknown channel smoke-signal; registered channels: [email, recording]");
    }

    @Test
    void aStepOnAnotherRegisteredChannelUsesThatChannelsTemplates(@TempDir Path tmp) throws IOException {
        WorkflowCatalog c = load(write(tmp, "mixed", """
                id: mixed
                purpose: treatment
                trigger:
                  event: appointment.booked
                steps:
                  - id: note
                    send:
                      template: recording-note
                      channel: recording
                      data:
                        note: "'hello'"
                """));
        assertThat(c.get("mixed")).isPresent();
        fails(write(tmp, "mixed", """
                id: mixed
                purpose: treatment
                trigger:
                  event: appointment.booked
                steps:
                  - id: note
                    send:
                      template: recording-note
                      data:
                        note: "'hello'"
                """), "mixed step note: no template recording-note for channel email");
    }
}
