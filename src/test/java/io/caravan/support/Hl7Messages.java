package io.caravan.support;

import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.atomic.AtomicLong;

/** Builds synthetic HL7 v2 messages for integration tests (all data fictional). */
public final class Hl7Messages {

    private static final DateTimeFormatter TS = DateTimeFormatter.ofPattern("yyyyMMddHHmmssZ");
    private static final AtomicLong SEQ = new AtomicLong(System.nanoTime() % 1_000_000_000L);

    private Hl7Messages() {
    }

    public static String controlId() {
        return "T" + SEQ.incrementAndGet();
    }

    public static String ts(OffsetDateTime t) {
        return t.format(TS);
    }

    /** An ADT of the given trigger for one patient. */
    public static String adt(String trigger, String controlId, String mrn, String family, String given,
            String email, OffsetDateTime eventTime) {
        String t = ts(eventTime);
        return "MSH|^~\\&|REGADT|MERCY|CARAVAN|HUB|" + t + "||ADT^" + trigger + "^ADT_A01|" + controlId + "|P|2.5.1\r"
                + "EVN|" + trigger + "|" + t + "\r"
                + "PID|1||" + mrn + "^^^MERCY^MR||" + family + "^" + given + "||19800101|F|||1 Main St^^Springfield^IL^62704"
                + "||^PRN^CP^^1^217^5550199~^NET^Internet^" + email + "||eng\r"
                + "PV1|1|O|CLINIC^^^MERCY\r";
    }

    public static String a04(String controlId, String mrn, String family, String given, String email) {
        return adt("A04", controlId, mrn, family, given, email, OffsetDateTime.parse("2026-03-01T09:00:00-05:00"));
    }

    /** A40: {@code priorMrn}'s record is merged into {@code survivorMrn}'s. */
    public static String a40(String controlId, String survivorMrn, String priorMrn) {
        return "MSH|^~\\&|REGADT|MERCY|CARAVAN|HUB|20260310100000-0500||ADT^A40^ADT_A39|" + controlId + "|P|2.5.1\r"
                + "EVN|A40|20260310100000-0500\r"
                + "PID|1||" + survivorMrn + "^^^MERCY^MR||Merged^Pat||19800101|F\r"
                + "MRG|" + priorMrn + "^^^MERCY^MR\r";
    }

    public static String s12(String controlId, String mrn, String start) {
        return "MSH|^~\\&|SCHED|MERCY|CARAVAN|HUB|20260301090000-0500||SIU^S12^SIU_S12|" + controlId + "|P|2.5.1\r"
                + "SCH|A-1|F-1|||||ROUTINE^Routine visit|FOLLOWUP^Follow-up|30|min|^^^" + start + "\r"
                + "PID|1||" + mrn + "^^^MERCY^MR||Doe^Jane\r"
                + "AIS|1||99213^Office visit|" + start + "\r";
    }
}
