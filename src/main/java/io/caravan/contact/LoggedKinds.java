package io.caravan.contact;

/**
 * Which events besides trigger events someone reads from the event log ({@code contact.changed}, {@code
 * message.<status>}): the outbound streams that list them. Asked so the log holds a kind only while a reader wants it -
 * a hub without such a destination writes no extra row per A08 or per sent message. A reader added later starts at
 * the log's head anyway (a new cursor never reads history), so nothing it could have read is missing.
 */
public interface LoggedKinds {

    /** Whether some reader wants events of this type. */
    boolean wanted(String type);
}
