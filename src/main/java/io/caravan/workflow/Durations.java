package io.caravan.workflow;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as people write them in workflow files: {@code 2d}, {@code 48h}, {@code 90m}, {@code -24h}, or ISO-8601. */
final class Durations {

    private static final Pattern SHORT = Pattern.compile("(-?)(\\d+)([dhms])");

    private Durations() {
    }

    static Duration parse(String s) {
        if (s == null || s.isBlank()) {
            throw new IllegalArgumentException("empty duration");
        }
        Matcher m = SHORT.matcher(s.trim());
        if (m.matches()) {
            long n = Long.parseLong(m.group(2)) * ("-".equals(m.group(1)) ? -1 : 1);
            return switch (m.group(3)) {
                case "d" -> Duration.ofDays(n);
                case "h" -> Duration.ofHours(n);
                case "m" -> Duration.ofMinutes(n);
                default -> Duration.ofSeconds(n);
            };
        }
        try {
            return Duration.parse(s.trim());
        } catch (java.time.format.DateTimeParseException e) {
            throw new IllegalArgumentException("not a duration (2d, 48h, 30m, -24h or ISO-8601): " + s);
        }
    }
}
