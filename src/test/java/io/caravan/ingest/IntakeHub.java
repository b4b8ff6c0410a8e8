package io.caravan.ingest;

import io.caravan.support.TestHub;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The hub the folder and HTTP intake tests share: one Spring context (its property source is this one method). */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
abstract class IntakeHub {

    static TestHub hub() {
        return TestHub.named("intake");
    }

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) {
        hub().register(r);
        // short, so the tests need not wait; a slow writer in them pauses less than min-age between pieces
        r.add("caravan.intake.hl7v2-folder.min-age", () -> "1500ms");
        r.add("caravan.intake.hl7v2-folder.poll", () -> "200ms");
    }
}
