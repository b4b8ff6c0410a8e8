package io.caravan.channel.email.transport;

/**
 * Jakarta Mail 2.1 looks its stream provider up through a fresh {@code ServiceLoader} - a scan of every jar on the
 * class path - each time a body part or multipart is created, written or encoded (jakartaee/mail-api#699, #861):
 * measured here, 60 % of the time of building and signing a message. Naming the provider in the system property the
 * lookup checks first turns that into a class-cache hit. The property is left alone if someone set it.
 */
public final class MailProviders {

    static final String PROPERTY = "jakarta.mail.util.StreamProvider";

    static {
        if (System.getProperty(PROPERTY) == null) {
            System.setProperty(PROPERTY, "org.eclipse.angus.mail.util.MailStreamProvider");
        }
    }

    private MailProviders() {
    }

    /** Runs the static initialiser (once per JVM). */
    public static void ensure() {
        // the class's initialisation did the work
    }
}
