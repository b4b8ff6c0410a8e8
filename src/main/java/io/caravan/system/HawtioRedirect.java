package io.caravan.system;

import org.springframework.stereotype.Controller;
import org.springframework.web.bind.annotation.GetMapping;

/** Hawtio lives under the actuator base path; {@code /hawtio} is where operators look for it. */
@Controller
class HawtioRedirect {

    @GetMapping({"/hawtio", "/hawtio/"})
    String hawtio() {
        return "redirect:/actuator/hawtio/";
    }
}
