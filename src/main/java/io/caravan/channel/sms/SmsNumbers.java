package io.caravan.channel.sms;

import com.google.i18n.phonenumbers.NumberParseException;
import com.google.i18n.phonenumbers.PhoneNumberUtil;
import com.google.i18n.phonenumbers.PhoneNumberUtil.PhoneNumberType;
import com.google.i18n.phonenumbers.Phonenumber.PhoneNumber;
import java.util.Optional;
import java.util.Set;

/**
 * Which numbers a text may go to: E.164 only (the feed mapping already normalised the contact's phone) and of a type
 * that can receive SMS - mobile, or fixed-line-or-mobile where the numbering plan cannot tell (the US and Canada).
 * A home landline the feed sent when no mobile was known gets no texts.
 */
public final class SmsNumbers {

    private static final PhoneNumberUtil UTIL = PhoneNumberUtil.getInstance();
    private static final Set<PhoneNumberType> TEXTABLE = Set.of(PhoneNumberType.MOBILE,
            PhoneNumberType.FIXED_LINE_OR_MOBILE);

    private SmsNumbers() {
    }

    /** The number itself when it is E.164 and textable; empty otherwise. */
    public static Optional<String> textable(String e164) {
        return parse(e164).filter(n -> TEXTABLE.contains(UTIL.getNumberType(n))).map(n -> e164);
    }

    static Optional<PhoneNumber> parse(String e164) {
        if (e164 == null || !e164.matches("\\+[1-9][0-9]{6,14}")) {
            return Optional.empty();
        }
        try {
            PhoneNumber n = UTIL.parse(e164, "ZZ");
            return UTIL.isValidNumber(n) ? Optional.of(n) : Optional.empty();
        } catch (NumberParseException e) {
            return Optional.empty();
        }
    }

    /** The SMPP destination address: E.164 digits without the plus (TON international, NPI ISDN). */
    static String destination(String e164) {
        return e164.substring(1);
    }
}
