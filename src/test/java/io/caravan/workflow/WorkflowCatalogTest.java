package io.caravan.workflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.caravan.channel.email.EmailTemplates;
import io.caravan.consent.ConsentPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipped workflows load; every kind of mistake in a workflow file stops the start, named. */
class WorkflowCatalogTest {

    static final Path SHIPPED = Path.of("config/workflows");
    static final Set<String> PURPOSES = ConsentPolicy.load(Path.of("config/policies")).purposes();
    static final EmailTemplates TEMPLATES = new EmailTemplates(Path.of("config/templates/email"), PURPOSES);
    static final Function<String, Optional<String>> PURPOSE_OF = n -> TEMPLATES.get(n)
            .map(EmailTemplates.Template::purpose);

    @Test
    void theShippedWorkflowsLoadWithTheirPurposesTriggersAndSteps() {
        WorkflowCatalog c = new WorkflowCatalog(SHIPPED, PURPOSES, PURPOSE_OF);
        assertThat(c.all()).containsOnlyKeys("appointment-reminder", "post-discharge-follow-up", "diabetes-education",
                "birthday-screening");
        assertThat(c.get("appointment-reminder").orElseThrow().purpose).isEqualTo("treatment");
        assertThat(c.get("appointment-reminder").orElseThrow().trigger.event).containsExactly("appointment.booked");
        assertThat(c.get("diabetes-education").orElseThrow().purpose).isEqualTo("marketing");
        assertThat(c.get("post-discharge-follow-up").orElseThrow().steps).extracting(s -> s.id).contains("survey",
                "opened", "reminder");
    }

    Path write(Path dir, String id, String yaml) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(id + ".yaml"), yaml);
        return dir;
    }

    void fails(Path dir, String... expected) {
        assertThatThrownBy(() -> new WorkflowCatalog(dir, PURPOSES, PURPOSE_OF))
                .isInstanceOfSatisfying(WorkflowCatalog.WorkflowException.class, e -> {
                    for (String x : expected) {
                        assertThat(e.problems()).as(String.join("\n", e.problems()))
                                .anySatisfy(p -> assertThat(p).contains(x));
                    }
                });
    }

    @Test
    void unknownKeysPurposesEventsTemplatesAndBadExpressionsAreAllReported(@TempDir Path tmp) throws IOException {
        Path d = write(tmp, "bad", """
                id: bad
                purpose: fundraising
                trigger:
                  event: appointment.moved
                  when: "hoursUntil(journey.data.start) >"
                steps:
                  - id: first
                    send: { template: newsletter }
                  - id: later
                    wait: { for: fortnight }
                  - id: missing-template
                    send: { template: no-such-template }
                """);
        fails(d, "purpose must be one of", "unknown event type appointment.moved", "trigger.when",
                "not a duration", "no template no-such-template");
        write(tmp.resolve("k"), "keys", """
                id: keys
                purpose: treatment
                trigger: { event: appointment.booked }
                steps:
                  - id: first
                    send: { template: appointment-reminder, tempalte: x }
                """);
        fails(tmp.resolve("k"), "tempalte");
    }

    @Test
    void aTemplateMustServeTheWorkflowsPurpose(@TempDir Path tmp) throws IOException {
        fails(write(tmp, "mixed", """
                id: mixed
                purpose: treatment
                trigger: { event: patient.discharged }
                steps:
                  - id: offer
                    send: { template: newsletter }
                """), "template newsletter is for purpose marketing");
    }

    @Test
    void missingStepsUnreachableStepsAndCyclesAreRefused(@TempDir Path tmp) throws IOException {
        fails(write(tmp.resolve("a"), "loop", """
                id: loop
                purpose: treatment
                trigger: { event: patient.discharged }
                steps:
                  - id: wait-a-day
                    wait: { for: 1d }
                  - id: check
                    branch:
                      cases:
                        - { if: "opened('nothing')", then: done }
                      otherwise: again
                  - id: again
                    goto: { step: wait-a-day }
                  - id: done
                    exit: { reason: ok }
                  - id: orphan
                    wait: { for: 1h }
                  - id: dangling
                    goto: { step: nowhere }
                """), "form a cycle", "step orphan: no path reaches it", "no step nowhere");
        write(tmp.resolve("b"), "ping", """
                id: ping
                purpose: treatment
                trigger: { event: patient.discharged }
                steps:
                  - { id: to-pong, goto: { workflow: pong } }
                """);
        write(tmp.resolve("b"), "pong", """
                id: pong
                purpose: treatment
                trigger: { event: patient.admitted }
                steps:
                  - { id: to-ping, goto: { workflow: ping } }
                """);
        fails(tmp.resolve("b"), "go to each other in a cycle");
    }

    @Test
    void aStepHasExactlyOneAction(@TempDir Path tmp) throws IOException {
        fails(write(tmp, "two", """
                id: two
                purpose: treatment
                trigger: { event: patient.discharged }
                steps:
                  - id: both
                    wait: { for: 1d }
                    exit: { reason: x }
                """), "exactly one of send, wait, branch, update, goto, exit");
    }

    @Test
    void updateStepsMayChangeOnlyTheirOwnAttributesAndTags(@TempDir Path tmp) throws IOException {
        fails(write(tmp, "upd", """
                id: upd
                purpose: treatment
                trigger: { event: patient.discharged }
                steps:
                  - id: nothing
                    update: {}
                  - id: fields
                    update: { set: { email: "'x@example.org'", codes: "'E11'", tags: "'a'" }, clear: [birthDate] }
                  - id: both
                    update: { set: { followUp: "'yes'" }, clear: [followUp], tag: [Bad Tag, ok], untag: [ok] }
                  - id: expression
                    update: { set: { when: "1 +" } }
                """), "update needs at least one of set, clear, tag, untag", "attribute email cannot be changed",
                "attribute codes cannot", "attribute tags cannot", "attribute birthDate cannot",
                "attribute followUp is both set and cleared", "tag Bad Tag must be", "tag ok is both added and removed",
                "step expression: set.when: ");
        Path ok = write(tmp.resolve("ok"), "upd", """
                id: upd
                purpose: treatment
                trigger: { event: patient.discharged }
                steps:
                  - id: mark
                    update: { set: { followUpDue: "journey.occurredAt" }, clear: [surveyAnswered], tag: [follow-up] }
                """);
        assertThat(new WorkflowCatalog(ok, PURPOSES, PURPOSE_OF).get("upd").orElseThrow().steps.get(0).update.tag)
                .containsExactly("follow-up");
    }
}
