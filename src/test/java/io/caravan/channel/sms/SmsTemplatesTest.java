package io.caravan.channel.sms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SMS templates are PHI-free by declaration, checked at load. */
class SmsTemplatesTest {

    static final Set<String> PURPOSES = Set.of("treatment", "payment", "operations", "marketing");

    @Test
    void theShippedTemplatesLoadAndRenderWithinTheirCaps() {
        SmsTemplates t = new SmsTemplates(Path.of("config/templates/sms"), PURPOSES);
        assertThat(t.names()).contains("appointment-reminder", "flu-clinic");
        String text = t.render("appointment-reminder", "es", Map.of("appointmentDate", "2030-01-02",
                "appointmentTime", "09:30", "clinicPhone", "217-555-0100"));
        assertThat(text).contains("2030-01-02").contains("STOP");
        assertThat(SmsText.encode(text).segmentCount()).isLessThanOrEqualTo(
                t.get("appointment-reminder").orElseThrow().maxSegments());
    }

    @Test
    void aPhiTemplateIsRefusedAtLoad(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("lab-result"));
        Files.writeString(dir.resolve("lab-result/template.yaml"),
                "purpose: treatment\ncontent: phi\nlanguages: [en]\n");
        Files.writeString(dir.resolve("lab-result/en.txt.peb"), "Your {{ test }} result is {{ value }}\n");
        assertThatThrownBy(() -> new SmsTemplates(dir, PURPOSES))
                .isInstanceOf(SmsTemplates.TemplateException.class)
                .hasMessageContaining("lab-result").hasMessageContaining("phi-free");
    }

    @Test
    void aMissingVariableIsAnErrorNotABlank(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("note"));
        Files.writeString(dir.resolve("note/template.yaml"), "purpose: treatment\ncontent: phi-free\nlanguages: [en]\n");
        Files.writeString(dir.resolve("note/en.txt.peb"), "Hello {{ when }}\n");
        SmsTemplates t = new SmsTemplates(dir, PURPOSES);
        assertThatThrownBy(() -> t.render("note", "en", Map.of())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("note");
    }
}
