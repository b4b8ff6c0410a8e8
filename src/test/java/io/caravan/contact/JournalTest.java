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

    static Journal.Entry entry(String status) {
        return new Journal.Entry(0, UUID.randomUUID(), "ab12", "default", "ADT^A04", status, null, "dek-1",
                Instant.parse("2026-01-01T00:00:00.123456789Z"), UUID.randomUUID(), new byte[] {1, 2, 3, 4});
    }

    @Test
    void entriesComeBackInOrderWithEveryFieldAfterAReopen(@TempDir Path dir) throws Exception {
        Journal.Entry a = entry(InboundMessage.PROCESSED);
        Journal.Entry b = entry(InboundMessage.FAILED);
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
            assertThat(back.get(1).status()).isEqualTo(InboundMessage.FAILED);
            assertThat(j.readAfter(1)).extracting(Journal.Entry::id).containsExactly(b.id());
            // numbering continues after the last entry
            assertThat(j.append(List.of(entry(InboundMessage.PROCESSED))).get(0).seq()).isEqualTo(3L);
        }
    }

    @Test
    void aTornTailFromAKilledWriteIsCutOffAndNeverReturned(@TempDir Path dir) throws Exception {
        try (Journal j = new Journal(dir, false, 0)) {
            j.append(List.of(entry(InboundMessage.PROCESSED)));
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
            assertThat(j.append(List.of(entry(InboundMessage.PROCESSED))).get(0).seq()).isEqualTo(2L);
            assertThat(j.readAfter(0)).hasSize(2);
        }
    }

    @Test
    void appliedSequenceSeedsNumberingWhenTheJournalWasTrimmed(@TempDir Path dir) throws Exception {
        try (Journal j = new Journal(dir, false, 41)) {
            assertThat(j.append(List.of(entry(InboundMessage.PROCESSED))).get(0).seq()).isEqualTo(42L);
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
            all.addAll(j.append(List.of(entry(InboundMessage.PROCESSED), entry(InboundMessage.PROCESSED))));
            assertThat(forced).as("the new segment's directory entry, its zero-filled space, then the group")
                    .containsExactly("meta", "meta", "data");
            for (int g = 0; g < 5; g++) {
                all.addAll(j.append(List.of(entry(InboundMessage.PROCESSED), entry(InboundMessage.FAILED),
                        entry(InboundMessage.PROCESSED))));
            }
            assertThat(forced).as("one flush per group, not per message, and no length change to sync")
                    .hasSize(3 + 5).endsWith("data", "data", "data", "data", "data");
        }
        // the zero-filled space after the last group is neither an entry nor in the way of the next ones
        try (Journal j = new Journal(dir, true, 0, Journal.Disk.REAL)) {
            assertThat(j.readAfter(0)).extracting(Journal.Entry::id)
                    .containsExactlyElementsOf(all.stream().map(Journal.Entry::id).toList());
            assertThat(j.append(List.of(entry(InboundMessage.PROCESSED))).get(0).seq()).isEqualTo(18L);
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
            j.append(List.of(entry(InboundMessage.PROCESSED)));
            j.append(List.of(entry(InboundMessage.PROCESSED)));
            assertThat(forced).isEmpty();
        }
    }
}
