package io.caravan.channel.email;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.LocalDate;
import org.junit.jupiter.api.Test;

class RelayBaaTest {

    @Test
    void theLastDayIsStillInForceTheDayAfterIsNot() {
        RelayBaa baa = RelayBaa.of("relay", "2027-12-31");
        assertThat(baa.closed(LocalDate.parse("2027-12-31"))).isEmpty();
        assertThat(baa.closed(LocalDate.parse("2028-01-01"))).contains("relay-baa-expired");
        assertThat(RelayBaa.of("relay", null).closed(LocalDate.parse("2099-01-01"))).isEmpty();
        assertThat(RelayBaa.NONE.closed(LocalDate.parse("2099-01-01"))).isEmpty();
    }

    @Test
    void anEndThatIsNotADateNamesTheFormItExpects() {
        assertThatThrownBy(() -> RelayBaa.of("relay", "end of 2027"))
                .hasMessageContaining("baa.expires").hasMessageContaining("YYYY-MM-DD");
    }
}
