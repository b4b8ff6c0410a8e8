package io.caravan.ingest;

import org.apache.camel.support.jsse.KeyManagersParameters;
import org.apache.camel.support.jsse.KeyStoreParameters;
import org.apache.camel.support.jsse.SSLContextClientParameters;
import org.apache.camel.support.jsse.SSLContextParameters;
import org.apache.camel.support.jsse.SSLContextServerParameters;
import org.apache.camel.support.jsse.TrustManagersParameters;
import org.apache.camel.support.jsse.ClientAuthentication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Registers the fixed MLLP component under the name routes use, {@code mllp}. */
@Configuration(proxyBeanMethods = false)
class MllpConfig {

    @Bean("mllp")
    CaravanMllpComponent mllp(MllpProperties props, IngestMetrics metrics, MllpSenders senders) {
        if (props.memoryBudget().toBytes() < props.maxFrameBytes() + 65536L) {
            throw new IllegalStateException("caravan.mllp.memory-budget must hold at least one frame of "
                    + "caravan.mllp.max-frame-bytes plus 64 KiB");
        }
        return new CaravanMllpComponent(props, metrics, tls(props.tls()), senders);
    }

    private static SSLContextParameters tls(MllpProperties.Tls tls) {
        if (!tls.enabled()) {
            return null;
        }
        String password = tls.passwordEnv() == null ? null : System.getenv(tls.passwordEnv());
        if (tls.keystore() == null || password == null) {
            throw new IllegalStateException(
                    "caravan.mllp.tls.enabled needs caravan.mllp.tls.keystore and the password in the environment "
                            + "variable named by caravan.mllp.tls.password-env");
        }
        KeyStoreParameters ks = new KeyStoreParameters();
        ks.setResource("file:" + tls.keystore());
        ks.setType("PKCS12");
        ks.setPassword(password);
        KeyManagersParameters km = new KeyManagersParameters();
        km.setKeyStore(ks);
        km.setKeyPassword(password);
        SSLContextParameters p = new SSLContextParameters();
        p.setKeyManagers(km);
        p.setSecureSocketProtocol("TLSv1.3");
        SSLContextServerParameters server = new SSLContextServerParameters();
        if (tls.truststore() != null) {
            KeyStoreParameters ts = new KeyStoreParameters();
            ts.setResource("file:" + tls.truststore());
            ts.setType("PKCS12");
            ts.setPassword(password);
            TrustManagersParameters tm = new TrustManagersParameters();
            tm.setKeyStore(ts);
            p.setTrustManagers(tm);
        }
        server.setClientAuthentication(tls.clientAuth() ? ClientAuthentication.REQUIRE.name()
                : ClientAuthentication.NONE.name());
        p.setServerParameters(server);
        p.setClientParameters(new SSLContextClientParameters());
        return p;
    }
}
