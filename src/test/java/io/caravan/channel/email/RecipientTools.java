package io.caravan.channel.email;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The recipient's side, with the recipient's own tools: openssl for S/MIME, gpg for OpenPGP. */
public final class RecipientTools {

    private RecipientTools() {
    }

    /** Output of a command; fails the test with its output when it exits non-zero. */
    public static String run(Path dir, List<String> command, String stdin) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("GNUPGHOME", dir.resolve("gnupg").toString());
        Process p = pb.start();
        if (stdin != null) {
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed:\n" + out);
        }
        return out;
    }

    /** A fresh RSA-2048 key and self-signed certificate for {@code email}, valid from now for {@code days}. */
    public static Path certificate(Path dir, String name, String email, int days, String keyUsage) throws Exception {
        run(dir, List.of("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
                "-out", name + ".pem", "-subj", "/CN=" + email + "/emailAddress=" + email, "-addext",
                "keyUsage=" + keyUsage, "-days", String.valueOf(days)), null);
        return dir.resolve(name + ".pem");
    }

    /**
     * Verifies a message's DKIM signature with Debian's python3-dkim (the system python), answering the DNS query
     * for {@code <selector>._domainkey.<domain>} with {@code txt}: "pass" or "fail".
     */
    public static String dkimVerify(Path dir, Path eml, String selector, String domain, String txt) throws Exception {
        Files.writeString(dir.resolve("dkim-verify.py"), """
                import sys, dkim
                record = open(sys.argv[2], 'rb').read()
                wanted = sys.argv[3].encode()
                def dns(name, timeout=5):
                    return record if name == wanted else None
                print('pass' if dkim.verify(open(sys.argv[1], 'rb').read(), dnsfunc=dns) else 'fail')
                """);
        Files.writeString(dir.resolve("dkim-record.txt"), txt);
        return run(dir, List.of("/usr/bin/python3", "dkim-verify.py", eml.toString(), "dkim-record.txt",
                selector + "._domainkey." + domain + "."), null).trim();
    }

    /**
     * A fresh gpg key pair in {@code dir/gnupg} with gpg's default layout (a signing primary key and an encryption
     * subkey); returns its public key, armoured.
     */
    public static String gpgKey(Path dir, String uid) throws Exception {
        Path home = dir.resolve("gnupg");
        Files.createDirectories(home);
        Files.setPosixFilePermissions(home, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        run(dir, List.of("gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
                "--quick-generate-key", uid, "default", "default", "never"), null);
        return run(dir, List.of("gpg", "--batch", "--armor", "--export", uid), null);
    }
}
