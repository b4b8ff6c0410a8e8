package io.caravan.channel.sms;

import java.text.Normalizer;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What an MO text asks for. A keyword counts when it is the whole text, whatever its case and the punctuation or
 * spaces around it; the opt-out also hears plain-language requests ("please stop texting me", "don't text me
 * anymore", "remove me") - the FCC counts any reasonable means. Look-alikes ("stopped by the clinic", "cancel my
 * appointment") are ordinary texts.
 */
public final class SmsKeywords {

    public enum Request { STOP, HELP, START, NONE }

    static final Set<String> STOP = Set.of("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE",
            "OPTOUT", "OPT OUT", "OPT-OUT");
    static final Set<String> HELP = Set.of("HELP", "INFO");
    static final Set<String> START = Set.of("START", "UNSTOP", "YES");

    private static final List<Pattern> PLAIN_STOP = List.of(
            Pattern.compile("\\bstop (texting|messaging|sending (me )?(texts|messages|sms))( me| to me)?\\b"),
            Pattern.compile("\\b(do not|don't|dont|never) (text|message|sms|txt)( me)?\\b"),
            Pattern.compile("\\bno more (texts|text messages|messages|sms)\\b"),
            Pattern.compile("\\b(remove|unsubscribe|take) me( off)?\\b"),
            Pattern.compile("\\b(opt|sign) me out\\b"));

    private SmsKeywords() {
    }

    public static Request recognise(String text) {
        if (text == null) {
            return Request.NONE;
        }
        String t = Normalizer.normalize(text, Normalizer.Form.NFKC).replace('\u2019', '\'').replace('\u2018', '\'');
        // punctuation, symbols and spaces around the text do not count; inside, runs of spaces are one
        String k = t.replaceAll("^[\\p{P}\\p{S}\\p{Z}\\s]+|[\\p{P}\\p{S}\\p{Z}\\s]+$", "").replaceAll("[\\p{Z}\\s]+", " ")
                .toUpperCase(Locale.ROOT);
        if (STOP.contains(k)) {
            return Request.STOP;
        }
        if (HELP.contains(k)) {
            return Request.HELP;
        }
        if (START.contains(k)) {
            return Request.START;
        }
        String lower = k.toLowerCase(Locale.ROOT);
        for (Pattern p : PLAIN_STOP) {
            if (p.matcher(lower).find()) {
                return Request.STOP;
            }
        }
        return Request.NONE;
    }
}
