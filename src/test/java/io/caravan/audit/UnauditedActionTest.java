package io.caravan.audit;

import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import io.caravan.system.Problems;
import org.junit.jupiter.api.Test;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * An action the trail cannot record is refused with 503, through system's handler that knows no audit class. The
 * trail's failure (a full or broken writer) is simulated: it cannot be caused through the API in a unit test.
 */
class UnauditedActionTest {

    @RestController
    static class AuditedAction {
        @PostMapping("/act")
        void act() {
            throw new AuditLog.AuditUnavailable("the audit trail could not record the action", null);
        }
    }

    @Test
    void an_action_the_trail_cannot_record_is_refused_with_503() throws Exception {
        MockMvc mvc = MockMvcBuilders.standaloneSetup(new AuditedAction()).setControllerAdvice(new Problems()).build();
        mvc.perform(post("/act"))
                .andExpect(status().isServiceUnavailable())
                .andExpect(content().contentTypeCompatibleWith("application/problem+json"))
                .andExpect(jsonPath("$.title").value("Audit trail unavailable"))
                .andExpect(jsonPath("$.detail").value("the action was not performed because it could not be audited"));
    }
}
