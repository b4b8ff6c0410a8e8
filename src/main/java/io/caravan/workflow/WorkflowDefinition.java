package io.caravan.workflow;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One patient journey, from {@code config/workflows/<id>.yaml}: the purpose that drives every consent decision, the
 * trigger that starts it, the events that end it, and its steps. Steps run in order unless a {@code branch} or
 * {@code goto} says otherwise; the journey completes after the last one. Conditions are expressions of
 * {@link Conditions}. Loaded and checked once by {@link WorkflowCatalog}.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public final class WorkflowDefinition {

    @JsonProperty(required = true)
    public String id;
    public String description;
    /** treatment, operations or marketing: the purpose of every message the journey sends. */
    @JsonProperty(required = true)
    public String purpose;
    /** The channel of its messages unless a send step names another. */
    public String channel = "email";
    /** Whether a contact may enter again while a journey of this workflow is active for them. */
    public boolean reentry;
    @JsonProperty(required = true)
    public Trigger trigger;
    /** Events that end (or re-target) an active journey. */
    public List<Exit> exits = new ArrayList<>();
    @JsonProperty(required = true)
    public List<Step> steps = new ArrayList<>();

    /** What starts a journey. */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public static final class Trigger {
        /** One event type or several. */
        @JsonProperty(required = true)
        @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
        public List<String> event = new ArrayList<>();
        /** A condition on the contact and the event. */
        public String when;
    }

    /** An event that ends an active journey: {@code when} sees the journey's starting event as {@code journey}. */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public static final class Exit {
        @JsonProperty(required = true)
        public String event;
        public String when;
        @JsonProperty(required = true)
        public String reason;
        /**
         * Instead of ending, jump to this step with this event as the journey's event (a rescheduled appointment
         * waits anew for its new time).
         */
        public String retarget;
    }

    /** A step: its id and exactly one action. */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public static final class Step {
        @JsonProperty(required = true)
        public String id;
        public Send send;
        public Wait wait;
        public Branch branch;
        public Update update;
        @JsonProperty("goto")
        public Goto go;
        public ExitStep exit;

        /** The action's kind, or null when not exactly one is given. */
        public String kind() {
            List<String> kinds = new ArrayList<>();
            if (send != null) {
                kinds.add("send");
            }
            if (wait != null) {
                kinds.add("wait");
            }
            if (branch != null) {
                kinds.add("branch");
            }
            if (update != null) {
                kinds.add("update");
            }
            if (go != null) {
                kinds.add("goto");
            }
            if (exit != null) {
                kinds.add("exit");
            }
            return kinds.size() == 1 ? kinds.get(0) : null;
        }
    }

    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public static final class Send {
        @JsonProperty(required = true)
        public String template;
        public String channel;
        /** Event or contact values handed to the template, by name: expressions. */
        public Map<String, String> data = new LinkedHashMap<>();
    }

    /** A duration ({@code 2d}, {@code 48h}, ISO-8601), or until a time an expression gives, shifted by an offset. */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public static final class Wait {
        @JsonProperty("for")
        public String duration;
        public String until;
        public String offset;
        /** With {@code until}: a local time of day in the contact's zone ({@code 09:00}) instead of the exact time. */
        public String at;
    }

    /** The first case whose condition holds decides the next step; otherwise {@code otherwise}. */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public static final class Branch {
        @JsonProperty(required = true)
        public List<Case> cases = new ArrayList<>();
        @JsonProperty(required = true)
        public String otherwise;
    }

    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public static final class Case {
        @JsonProperty(value = "if", required = true)
        public String condition;
        @JsonProperty(required = true)
        public String then;
    }

    /** Contact attributes and tags the journey changes. */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public static final class Update {
        /** Attribute name → expression. */
        public Map<String, String> set = new LinkedHashMap<>();
        public List<String> clear = new ArrayList<>();
        public List<String> tag = new ArrayList<>();
        public List<String> untag = new ArrayList<>();
    }

    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public static final class Goto {
        public String step;
        public String workflow;
    }

    /** A planned end: the journey is {@code completed} with this reason (events in {@code exits} make it exited). */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public static final class ExitStep {
        @JsonProperty(required = true)
        public String reason;
    }
}
