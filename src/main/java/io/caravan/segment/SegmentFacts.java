package io.caravan.segment;

import java.time.LocalDate;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * What a segment's expression sees, in the workflow condition language ({@code io.caravan.workflow.Conditions}): a
 * cursor over one row of the {@link AttributeIndex}, moved from row to row by the evaluation. {@code contact} is the
 * cursor itself, so a workflow's {@code contact.gender == 'female' and age() >= 50} reads the same here. Examples:
 *
 * <pre>
 * age() &gt;= 50 and contact.gender == 'female'
 * zip3 == '627' or state == 'IL'
 * language == 'es' and inCodeSet('diabetes')
 * hasCode('E11') and daysSinceVisit() &gt; 365
 * hasAppointment() and daysUntilAppointment() &lt;= 7
 * inJourney('diabetes-education') or opened() and !unsubscribed()
 * </pre>
 *
 * Dates count in days in the hub's zone; a fact the contact does not have reads as null (text), -1 (age, birth year)
 * or a very large number of days ({@link Integer#MAX_VALUE}): test {@code hasVisit()} first where it matters.
 */
public final class SegmentFacts {

    /**
     * Facts the index does not hold, asked per evaluation (journey state from the workflow engine, engagement from
     * the channels): each implementation reads its table once per evaluation, not once per contact.
     */
    public interface Outside {
        Outside NONE = new Outside() {
            @Override
            public boolean inJourney(UUID contact, String workflow, String status) {
                return false;
            }

            @Override
            public boolean engaged(UUID contact, String what) {
                return false;
            }
        };

        /** An instance for one evaluation (which may cache what it reads); this one when it caches nothing. */
        default Outside fresh() {
            return this;
        }

        /** Whether the contact has a journey in the workflow with that status (active, completed, exited). */
        boolean inJourney(UUID contact, String workflow, String status);

        /** Whether a person opened / clicked a message to the contact, or a message bounced, or they unsubscribed. */
        boolean engaged(UUID contact, String what);
    }

    private final AttributeIndex index;
    private final int today;
    private final LocalDate todayDate;
    private final Outside outside;
    private final Map<String, boolean[]> prefixes = new HashMap<>();
    int row;

    SegmentFacts(AttributeIndex index, LocalDate today, Outside outside) {
        this.index = index;
        this.today = (int) today.toEpochDay();
        this.todayDate = today;
        this.outside = outside;
    }

    /** Code sets by name (each a list of code prefixes), shared by every evaluation. */
    static volatile Map<String, List<String>> codeSets = Map.of();

    public SegmentFacts getContact() {
        return this;
    }

    public String getId() {
        return index.ids[row].toString();
    }

    public String getGender() {
        return AttributeIndex.sexName(index.sex[row]);
    }

    public String getSex() {
        return getGender();
    }

    public String getLanguage() {
        short l = index.language[row];
        return l == 0 ? null : index.languages.value(l);
    }

    public String getState() {
        short s = index.state[row];
        return s == 0 ? null : index.states.value(s);
    }

    public String getZip3() {
        short z = index.zip3[row];
        return z < 0 ? null : String.format("%03d", z);
    }

    public int getBirthYear() {
        int b = index.birth[row];
        return b == AttributeIndex.NONE ? -1 : LocalDate.ofEpochDay(b).getYear();
    }

    /** Whole years today, or -1 without a birth date. */
    public int age() {
        int b = index.birth[row];
        if (b == AttributeIndex.NONE) {
            return -1;
        }
        LocalDate born = LocalDate.ofEpochDay(b);
        int years = todayDate.getYear() - born.getYear();
        // not yet had this year's birthday
        if (todayDate.getMonthValue() < born.getMonthValue() || todayDate.getMonthValue() == born.getMonthValue()
                && todayDate.getDayOfMonth() < born.getDayOfMonth()) {
            years--;
        }
        return years;
    }

    /** A diagnosis or result code on file starting with the prefix (E11 matches E11.9). */
    public boolean hasCode(String prefix) {
        boolean[] hits = prefixes.get(prefix);
        if (hits == null) {
            int n = index.codes.size();
            hits = new boolean[n];
            String p = prefix.toUpperCase(java.util.Locale.ROOT);
            for (int i = 1; i < n; i++) {
                hits[i] = index.codes.value(i).startsWith(p);
            }
            prefixes.put(prefix, hits);
        }
        int[] cs = index.codeIds[row];
        for (int c : cs) {
            if (c < hits.length && hits[c]) {
                return true;
            }
        }
        return false;
    }

    /** A code on file in the named code set (config/segments/code-sets.yaml). */
    public boolean inCodeSet(String name) {
        List<String> set = codeSets.get(name);
        if (set == null) {
            throw new IllegalArgumentException("no code set " + name);
        }
        for (String p : set) {
            if (hasCode(p)) {
                return true;
            }
        }
        return false;
    }

    public boolean hasVisit() {
        return index.visit[row] != AttributeIndex.NONE;
    }

    public boolean hasDischarge() {
        return index.discharge[row] != AttributeIndex.NONE;
    }

    public boolean hasAppointment() {
        return index.appointment[row] != AttributeIndex.NONE;
    }

    /** Days since the last admission, registration or discharge. */
    public int daysSinceVisit() {
        return since(index.visit[row]);
    }

    public int daysSinceDischarge() {
        return since(index.discharge[row]);
    }

    /** Days until the booked appointment (negative once it has passed). */
    public int daysUntilAppointment() {
        int a = index.appointment[row];
        return a == AttributeIndex.NONE ? Integer.MAX_VALUE : a - today;
    }

    public boolean inJourney(String workflow) {
        return outside.inJourney(index.ids[row], workflow, "active");
    }

    public boolean journey(String workflow, String status) {
        return outside.inJourney(index.ids[row], workflow, status);
    }

    public boolean opened() {
        return outside.engaged(index.ids[row], "opened");
    }

    public boolean clicked() {
        return outside.engaged(index.ids[row], "clicked");
    }

    public boolean bounced() {
        return outside.engaged(index.ids[row], "bounced");
    }

    public boolean unsubscribed() {
        return outside.engaged(index.ids[row], "unsubscribed");
    }

    private int since(int day) {
        return day == AttributeIndex.NONE ? Integer.MAX_VALUE : today - day;
    }
}
