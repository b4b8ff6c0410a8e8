package io.caravan.channel.email;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipped templates load; rendering escapes, localizes with a fallback and refuses missing data. */
class EmailTemplatesTest {

    static final Path SHIPPED = Path.of("config/templates/email");
    static final Set<String> PURPOSES = Set.of("treatment", "payment", "operations", "marketing");

    static final Map<String, Object> REMINDER = Map.of("givenName", "Ana <script>alert(1)</script>",
            "appointmentDate", "2026-12-03", "appointmentTime", "09:30", "provider", "Dr Osei & Partners",
            "clinicPhone", "+1 217 555 0100");

    @Test
    void theShippedTemplatesLoadWithTheirPurposeAndContentClass() {
        EmailTemplates t = new EmailTemplates(SHIPPED, PURPOSES);
        assertThat(t.names()).contains("appointment-reminder", "appointment-reminder-notice", "newsletter");
        assertThat(t.get("appointment-reminder").orElseThrow()).satisfies(x -> {
            assertThat(x.purpose()).isEqualTo("treatment");
            assertThat(x.content()).isEqualTo("phi");
            assertThat(x.phiFreeVariant()).isEqualTo("appointment-reminder-notice");
        });
        assertThat(t.get("newsletter").orElseThrow().purpose()).isEqualTo("marketing");
        assertThat(t.get("newsletter").orElseThrow().content()).isEqualTo("phi-free");
    }

    @Test
    void htmlIsEscapedByDefaultAndTextIsNot() {
        EmailTemplates.Rendered r = new EmailTemplates(SHIPPED, PURPOSES).render("appointment-reminder", "en", REMINDER);
        assertThat(r.html()).contains("Ana &lt;script&gt;alert(1)&lt;/script&gt;").doesNotContain("<script>")
                .contains("Dr Osei &amp; Partners");
        assertThat(r.text()).contains("Ana <script>alert(1)</script>").contains("Dr Osei & Partners");
        assertThat(r.subject()).isEqualTo("A reminder from your care team").doesNotContain("Ana");
    }

    @Test
    void theContactsLanguageIsUsedAndOthersFallBackToTheFirst() {
        EmailTemplates t = new EmailTemplates(SHIPPED, PURPOSES);
        EmailTemplates.Rendered es = t.render("appointment-reminder", "es", REMINDER);
        assertThat(es.language()).isEqualTo("es");
        assertThat(es.text()).startsWith("Hola");
        assertThat(es.subject()).isEqualTo("Un recordatorio de su equipo de atención");
        EmailTemplates.Rendered fr = t.render("appointment-reminder", "fr", REMINDER);
        assertThat(fr.language()).isEqualTo("en");
        assertThat(t.render("appointment-reminder", null, REMINDER).language()).isEqualTo("en");
    }

    @Test
    void aMissingVariableIsAnErrorThatNamesTheVariableNotAValue() {
        EmailTemplates t = new EmailTemplates(SHIPPED, PURPOSES);
        assertThatThrownBy(() -> t.render("appointment-reminder", "en", Map.of("givenName", "Ana")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("appointmentDate")
                .hasMessageNotContaining("Ana");
    }

    @Test
    void badTemplatesFailWithEveryProblem(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("email");
        copy(SHIPPED, dir);
        Path reminder = dir.resolve("appointment-reminder/template.yaml");
        Files.writeString(reminder, Files.readString(reminder).replace("en: A reminder from your care team",
                "en: Your visit with {{ provider }}"));
        Path notice = dir.resolve("appointment-reminder-notice/template.yaml");
        Files.writeString(notice, Files.readString(notice).replace("content: phi-free", "content: phi"));
        Files.delete(dir.resolve("newsletter/en.txt.peb"));
        Path news = dir.resolve("newsletter/template.yaml");
        Files.writeString(news, Files.readString(news) + "colour: blue\n");
        Files.writeString(dir.resolve("appointment-reminder/es.html.peb"), "<p>{{ givenName </p>");
        assertThatThrownBy(() -> new EmailTemplates(dir, PURPOSES))
                .isInstanceOfSatisfying(EmailTemplates.TemplateException.class, e -> assertThat(e.problems())
                        .anySatisfy(p -> assertThat(p).contains("subject is sent in clear"))
                        .anySatisfy(p -> assertThat(p).contains("must be phi-free"))
                        .anySatisfy(p -> assertThat(p).contains("colour"))
                        .anySatisfy(p -> assertThat(p).contains("es.html.peb")));
        Files.writeString(news, Files.readString(news).replace("colour: blue\n", ""));
        assertThatThrownBy(() -> new EmailTemplates(dir, PURPOSES))
                .hasMessageContaining("newsletter: missing en.txt.peb");
    }

    static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }
}
