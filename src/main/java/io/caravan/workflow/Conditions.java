package io.caravan.workflow;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.Period;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.function.BiPredicate;
import org.springframework.context.expression.MapAccessor;
import org.springframework.expression.EvaluationException;
import org.springframework.expression.Expression;
import org.springframework.expression.ParseException;
import org.springframework.expression.spel.standard.SpelExpressionParser;
import org.springframework.expression.spel.support.DataBindingPropertyAccessor;
import org.springframework.expression.spel.support.SimpleEvaluationContext;

/**
 * The one condition language of workflows (and, later, segments): Spring Expression Language in a locked-down
 * context - read-only properties and map entries, instance methods only (no types, no constructors, no static calls,
 * no bean references, no assignment). What an expression sees is a {@link Facts}: {@code contact} (the contact's
 * JSON shape, attributes included), {@code event} ({@code type}, {@code occurredAt}, {@code data}), {@code journey}
 * (the event that started the journey), {@code now}, and the helpers below. Examples:
 *
 * <pre>
 * hoursUntil(event.data.start) &gt; 48
 * contact.gender == 'female' and age() &gt;= 50
 * hasCode('E11')                      (a diagnosis code of the event or contact starting with E11)
 * !opened('survey')                   (the message of step survey was not opened by a person)
 * {'01','02'}.contains(event.data.dischargeDisposition)
 * </pre>
 */
public final class Conditions {

    private static final SpelExpressionParser PARSER = new SpelExpressionParser();

    /**
     * Map entries as properties; an entry the data does not have reads as null (an HL7 field left empty), so
     * {@code event.data.provider ?: 'your care team'} works instead of failing.
     */
    private static final MapAccessor MISSING_IS_NULL = new MapAccessor(false) {
        @Override
        public boolean canRead(org.springframework.expression.EvaluationContext context, Object target,
                String name) {
            return target instanceof Map;
        }

        @Override
        public org.springframework.expression.TypedValue read(org.springframework.expression.EvaluationContext context,
                Object target, String name) {
            return new org.springframework.expression.TypedValue(((Map<?, ?>) target).get(name));
        }
    };

    /** One accessor for every evaluation: it caches the reflective look-ups a new one would repeat each time. */
    private static final DataBindingPropertyAccessor FACTS = DataBindingPropertyAccessor.forReadOnlyAccess();

    private Conditions() {
    }

    /** Expressions come from the workflow files: a fixed set, each parsed once (an Expression is thread-safe). */
    private static final java.util.Map<String, Expression> COMPILED = new java.util.concurrent.ConcurrentHashMap<>();

    /** A compiled expression; compile errors are thrown with the position, never a value. */
    public static Expression compile(String source) {
        Expression e = COMPILED.get(source);
        if (e == null) {
            e = PARSER.parseExpression(source);
            if (COMPILED.size() < 10_000) {
                COMPILED.put(source, e);
            }
        }
        return e;
    }

    /** Null when the expression compiles, else why not. */
    public static String problem(String source) {
        try {
            compile(source);
            return null;
        } catch (ParseException e) {
            return e.getSimpleMessage();
        }
    }

    public static boolean test(Expression e, Facts facts) {
        Object v = evaluate(e, facts);
        if (v instanceof Boolean b) {
            return b;
        }
        throw new IllegalArgumentException("a condition must be true or false");
    }

    public static Object evaluate(Expression e, Facts facts) {
        SimpleEvaluationContext ctx = SimpleEvaluationContext.forPropertyAccessors(MISSING_IS_NULL, FACTS)
                .withInstanceMethods().withRootObject(facts).build();
        try {
            return e.getValue(ctx);
        } catch (org.springframework.expression.spel.SpelEvaluationException ex) {
            // the message code and position only: SpEL's own text can quote a value (a malformed birth date)
            throw new IllegalArgumentException("condition failed: " + ex.getMessageCode() + " at "
                    + ex.getPosition() + " of '" + e.getExpressionString() + "'");
        } catch (EvaluationException | java.time.DateTimeException ex) {
            throw new IllegalArgumentException("condition failed: " + ex.getClass().getSimpleName() + " in '"
                    + e.getExpressionString() + "'");
        }
    }

    /**
     * The same locked-down context over another root (a segment's facts, read from the attribute index): its public
     * read-only properties and instance methods, nothing else. A context may be reused for many evaluations when the
     * root moves from row to row, which is what makes evaluating a segment over a million contacts cheap.
     */
    public static org.springframework.expression.EvaluationContext context(Object root) {
        return SimpleEvaluationContext.forPropertyAccessors(MISSING_IS_NULL, FACTS).withInstanceMethods()
                .withRootObject(root).build();
    }

    /** {@link #test(Expression, Facts)} in a context of {@link #context(Object)}. */
    public static boolean test(Expression e, org.springframework.expression.EvaluationContext ctx) {
        Object v;
        try {
            v = e.getValue(ctx);
        } catch (org.springframework.expression.spel.SpelEvaluationException ex) {
            throw new IllegalArgumentException("condition failed: " + ex.getMessageCode() + " at "
                    + ex.getPosition() + " of '" + e.getExpressionString() + "'");
        } catch (EvaluationException | java.time.DateTimeException ex) {
            throw new IllegalArgumentException("condition failed: " + ex.getClass().getSimpleName() + " in '"
                    + e.getExpressionString() + "'");
        }
        if (v instanceof Boolean b) {
            return b;
        }
        throw new IllegalArgumentException("a condition must be true or false");
    }

    /**
     * What an expression sees. Maps are read-only copies; times are ISO-8601 strings or instants.
     *
     * @param engagement whether the message a step sent was opened / clicked by a person: (step, "opened") → bool
     */
    public record Facts(Map<String, Object> contact, Map<String, Object> event, Map<String, Object> journey,
            Instant now, ZoneId zone, Set<String> codes, BiPredicate<String, String> engagement) {

        /** Hours from now until a time (negative when it has passed). */
        public double hoursUntil(Object time) {
            return Duration.between(now, instant(time)).toMinutes() / 60.0;
        }

        /** Whole days since a time. */
        public long daysSince(Object time) {
            return Duration.between(instant(time), now).toDays();
        }

        /** The contact's age in whole years today (in their zone), or -1 without a birth date. */
        public int age() {
            Object b = contact.get("birthDate");
            if (!(b instanceof String s) || s.isBlank()) {
                return -1;
            }
            return Period.between(LocalDate.parse(s), LocalDate.ofInstant(now, zone)).getYears();
        }

        /** Whether today (in the contact's zone) is their birthday. */
        public boolean birthday() {
            Object b = contact.get("birthDate");
            if (!(b instanceof String s) || s.isBlank()) {
                return false;
            }
            LocalDate born = LocalDate.parse(s);
            LocalDate today = LocalDate.ofInstant(now, zone);
            return born.getMonth() == today.getMonth() && born.getDayOfMonth() == today.getDayOfMonth();
        }

        /** The start of the contact's next birthday (today's if it is today), in their zone. */
        public Instant nextBirthday() {
            Object b = contact.get("birthDate");
            if (!(b instanceof String s) || s.isBlank()) {
                throw new IllegalArgumentException("no birth date");
            }
            LocalDate born = LocalDate.parse(s);
            LocalDate today = LocalDate.ofInstant(now, zone);
            LocalDate next = born.withYear(today.getYear());
            if (next.isBefore(today)) {
                next = born.withYear(today.getYear() + 1);
            }
            return next.atStartOfDay(zone).toInstant();
        }

        /** A diagnosis or result code (of the event, or on file) starting with the prefix, e.g. E11. */
        public boolean hasCode(String prefix) {
            return codes.stream().anyMatch(c -> c.startsWith(prefix));
        }

        public boolean hasTag(String tag) {
            return contact.get("attributes") instanceof Map<?, ?> a && a.get("tags") instanceof Collection<?> t
                    && t.contains(tag);
        }

        public boolean opened(String step) {
            return engagement.test(step, "opened") || engagement.test(step, "clicked");
        }

        public boolean clicked(String step) {
            return engagement.test(step, "clicked");
        }

        static Instant instant(Object time) {
            if (time instanceof Instant i) {
                return i;
            }
            if (time instanceof String s) {
                try {
                    return OffsetDateTime.parse(s).toInstant();
                } catch (DateTimeParseException e) {
                    try {
                        return Instant.parse(s);
                    } catch (DateTimeParseException e2) {
                        throw new IllegalArgumentException("not a time with an offset");
                    }
                }
            }
            throw new IllegalArgumentException(time == null ? "no such time in the data" : "not a time");
        }
    }
}
