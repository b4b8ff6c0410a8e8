package io.caravan.channel;

import java.util.List;

/**
 * What the planner needs to know of a channel's template.
 *
 * @param purpose  the purpose it serves (drives the consent decision), or {@value #ANY_PURPOSE} for the hub's own
 * @param content  {@code phi} or {@code phi-free}
 * @param requires the request data it cannot render without ({@code requires:} in its {@code template.yaml})
 */
public record Template(String name, String purpose, String content, List<String> requires) {

    /** The hub's own PHI-free templates (portal notice and code) serve messages of every purpose. */
    public static final String ANY_PURPOSE = "any";

    public Template {
        requires = requires == null ? List.of() : List.copyOf(requires);
    }
}
