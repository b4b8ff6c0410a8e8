package io.caravan.support;

import com.icegreen.greenmail.util.GreenMail;
import jakarta.mail.MessagingException;
import jakarta.mail.internet.MimeMessage;
import java.util.List;

/** What a GreenMail server received for one address. */
public final class Mailboxes {

    private Mailboxes() {
    }

    public static List<MimeMessage> to(GreenMail server, String address) {
        return List.of(server.getReceivedMessages()).stream().filter(m -> {
            try {
                return m.getAllRecipients()[0].toString().equals(address);
            } catch (MessagingException e) {
                return false;
            }
        }).toList();
    }
}
