package io.caravan.consent;

import java.util.List;

/**
 * The answer of the gate: whether a message may go, what it may contain ({@code phi}, {@code phi-free}, or
 * {@code none} when denied) and every rule that fired, each with the regulation it implements.
 */
public record Decision(boolean allowed, String content, List<Reason> reasons) {

    public static final String PHI = "phi";
    public static final String PHI_FREE = "phi-free";
    public static final String NONE = "none";
    /** Safe Harbor de-identified (45 CFR 164.514(b)(2)): not PHI, so no authorization, but opt-outs still apply. */
    public static final String DEIDENTIFIED = "deidentified";

    /** One rule that fired. {@code effect}: {@code allow}, {@code deny} or {@code limit} (content reduced). */
    public record Reason(String rule, String citation, String effect) {
    }

    /** The ids of the rules that denied. */
    public List<String> denials() {
        return reasons.stream().filter(r -> "deny".equals(r.effect())).map(Reason::rule).toList();
    }
}
