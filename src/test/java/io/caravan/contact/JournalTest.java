package io.caravan.contact;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JournalTest {

    static Journal.Entry entry(InboundMessage.Status status) {
        return entry("hl7v2", status);
    }

    static Journal.Entry entry(String sourceKind, InboundMessage.Status status) {
        return new Journal.Entry(0, UUID.randomUUID(), sourceKind, "ab12", "default", "ADT^A04", status, null,
                "dek-1", Instant.parse("2026-01-01T00:00:00.123456789Z"), UUID.randomUUID(), new byte[] {1, 2, 3, 4});
    }

    @Test
    void theSourceKindOfEachEntryComesBackAfterAReopen(@TempDir Path dir) throws Exception {
        try (Journal j = new Journal(dir, false, 0)) {
            j.append(List.of(entry("fhir", InboundMessage.Status.PROCESSED),
                    entry("hl7v2", InboundMessage.Status.IGNORED)));
        }
        try (Journal j = new Journal(dir, false, 0)) {
            assertThat(j.unappliedAtOpen()).extracting(Journal.Entry::sourceKind).containsExactly("fhir", "hl7v2");
            assertThat(j.unappliedAtOpen()).extracting(Journal.Entry::status)
                    .containsExactly(InboundMessage.Status.PROCESSED, InboundMessage.Status.IGNORED);
        }
    }

    /** A segment as the journal wrote it before source kinds (record version 1), left behind by a crash. */
    @Test
    void anEntryWrittenBeforeSourceKindsIsReadAsHl7v2(@TempDir Path dir) throws Exception {
        UUID id = UUID.randomUUID();
        UUID eventId = UUID.randomUUID();
        java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
        java.io.DataOutputStream d = new java.io.DataOutputStream(body);
        d.writeByte(1);
        d.writeLong(id.getMostSignificantBits());
        d.writeLong(id.getLeastSignificantBits());
        d.writeBoolean(true);
        d.writeUTF("ab12");
        d.writeUTF("default");
        d.writeUTF("ADT^A04");
        d.writeUTF("processed");
        d.writeBoolean(false);
        d.writeUTF("dek-1");
        d.writeLong(1_767_225_600L);
        d.writeInt(123);
        d.writeBoolean(true);
        d.writeLong(eventId.getMostSignificantBits());
        d.writeLong(eventId.getLeastSignificantBits());
        d.writeInt(3);
        d.write(new byte[] {7, 8, 9});
        byte[] b = body.toByteArray();
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(b);
        java.nio.ByteBuffer frame = java.nio.ByteBuffer.allocate(16 + b.length).putInt(b.length)
                .putInt((int) crc.getValue()).putLong(1).put(b);
        Files.write(dir.resolve("journal-0000000000000000001.log"), frame.array());

        try (Journal j = new Journal(dir, false, 0)) {
            assertThat(j.unappliedAtOpen()).hasSize(1);
            Journal.Entry e = j.unappliedAtOpen().get(0);
            assertThat(e.sourceKind()).isEqualTo(InboundMessage.HL7V2);
            assertThat(e.id()).isEqualTo(id);
            assertThat(e.status()).isEqualTo(InboundMessage.Status.PROCESSED);
            assertThat(e.eventId()).isEqualTo(eventId);
            assertThat(e.receivedAt()).isEqualTo(Instant.ofEpochSecond(1_767_225_600L, 123));
            assertThat(e.sealedRaw()).containsExactly(7, 8, 9);
            assertThat(e.message().sourceKind()).isEqualTo(InboundMessage.HL7V2);
            // new entries follow it
            assertThat(j.append(List.of(entry(InboundMessage.Status.PROCESSED))).get(0).seq()).isEqualTo(2L);
        }
    }

    @Test
    void entriesComeBackInOrderWithEveryFieldAfterAReopen(@TempDir Path dir) throws Exception {
        Journal.Entry a = entry(InboundMessage.Status.PROCESSED);
        Journal.Entry b = entry(InboundMessage.Status.FAILED);
        try (Journal j = new Journal(dir, false, 0)) {
            List<Journal.Entry> written = j.append(List.of(a, b));
            assertThat(written).extracting(Journal.Entry::seq).containsExactly(1L, 2L);
        }
        try (Journal j = new Journal(dir, false, 0)) {
            List<Journal.Entry> back = j.readAfter(0);
            assertThat(back).hasSize(2);
            assertThat(back.get(0).id()).isEqualTo(a.id());
            assertThat(back.get(0).receivedAt()).isEqualTo(a.receivedAt());
            assertThat(back.get(0).eventId()).isEqualTo(a.eventId());
            assertThat(back.get(0).sealedRaw()).containsExactly(1, 2, 3, 4);
            assertThat(back.get(1).status()).isEqualTo(InboundMessage.Status.FAILED);
            assertThat(j.readAfter(1)).extracting(Journal.Entry::id).containsExactly(b.id());
            // numbering continues after the last entry
            assertThat(j.append(List.of(entry(InboundMessage.Status.PROCESSED))).get(0).seq()).isEqualTo(3L);
        }
    }

    @Test
    void aTornTailFromAKilledWriteIsCutOffAndNeverReturned(@TempDir Path dir) throws Exception {
        try (Journal j = new Journal(dir, false, 0)) {
            j.append(List.of(entry(InboundMessage.Status.PROCESSED)));
        }
        Path seg;
        try (var s = Files.list(dir)) {
            seg = s.findFirst().orElseThrow();
        }
        long intact = Files.size(seg);
        Files.write(seg, new byte[] {0, 0, 0, 50, 1, 2, 3}, StandardOpenOption.APPEND); // half a record
        try (Journal j = new Journal(dir, false, 0)) {
            assertThat(j.readAfter(0)).hasSize(1);
            assertThat(Files.size(seg)).isEqualTo(intact);
            assertThat(j.append(List.of(entry(InboundMessage.Status.PROCESSED))).get(0).seq()).isEqualTo(2L);
            assertThat(j.readAfter(0)).hasSize(2);
        }
    }

    @Test
    void appliedSequenceSeedsNumberingWhenTheJournalWasTrimmed(@TempDir Path dir) throws Exception {
        try (Journal j = new Journal(dir, false, 41)) {
            assertThat(j.append(List.of(entry(InboundMessage.Status.PROCESSED))).get(0).seq()).isEqualTo(42L);
            j.deleteThrough(42); // the current segment is kept
            assertThat(j.readAfter(41)).hasSize(1);
        }
    }

    @Test
    void aDurableJournalFlushesEachGroupOnceBeforeItReturnsAndSyncsTheDirectoryOfANewSegment(@TempDir Path dir)
            throws Exception {
        List<String> forced = new java.util.ArrayList<>();
        Journal.Disk counting = (ch, meta) -> {
            forced.add(meta ? "meta" : "data");
            ch.force(meta);
        };
        List<Journal.Entry> all = new java.util.ArrayList<>();
        try (Journal j = new Journal(dir, true, 0, counting)) {
            assertThat(forced).as("nothing written yet").isEmpty();
            all.addAll(j.append(List.of(entry(InboundMessage.Status.PROCESSED), entry(InboundMessage.Status.PROCESSED))));
            assertThat(forced).as("the new segment's directory entry, its zero-filled space, then the group")
                    .containsExactly("meta", "meta", "data");
            for (int g = 0; g < 5; g++) {
                all.addAll(j.append(List.of(entry(InboundMessage.Status.PROCESSED), entry(InboundMessage.Status.FAILED),
                        entry(InboundMessage.Status.PROCESSED))));
            }
            assertThat(forced).as("one flush per group, not per message, and no length change to sync")
                    .hasSize(3 + 5).endsWith("data", "data", "data", "data", "data");
        }
        // the zero-filled space after the last group is neither an entry nor in the way of the next ones
        try (Journal j = new Journal(dir, true, 0, Journal.Disk.REAL)) {
            assertThat(j.readAfter(0)).extracting(Journal.Entry::id)
                    .containsExactlyElementsOf(all.stream().map(Journal.Entry::id).toList());
            assertThat(j.append(List.of(entry(InboundMessage.Status.PROCESSED))).get(0).seq()).isEqualTo(18L);
            assertThat(j.readAfter(17)).hasSize(1);
        }
        try (Journal j = new Journal(dir, true, 0)) {
            assertThat(j.readAfter(0)).hasSize(18);
        }
    }

    @Test
    void theProcessCrashModeNeverFlushesAGroup(@TempDir Path dir) throws Exception {
        List<Boolean> forced = new java.util.ArrayList<>();
        try (Journal j = new Journal(dir, false, 0, (ch, meta) -> forced.add(meta))) {
            j.append(List.of(entry(InboundMessage.Status.PROCESSED)));
            j.append(List.of(entry(InboundMessage.Status.PROCESSED)));
            assertThat(forced).isEmpty();
        }
    }
}
