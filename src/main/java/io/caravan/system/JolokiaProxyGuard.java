package io.caravan.system;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.MediaType;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Jolokia's proxy mode: a request carrying {@code "target": {"url": "service:jmx:..."}} makes the agent open a JMX
 * connection to whatever host the caller names (JRMP to any address - a door into the hospital network and a
 * deserialization risk). The JSR-160 service is left out of the build (pom.xml), and this refuses such a request
 * outright (403) rather than let Jolokia answer it from the local MBean server as if the target had been honoured.
 * Runs after Spring Security: only authenticated console users' bodies are read.
 */
@Configuration(proxyBeanMethods = false)
class JolokiaProxyGuard {

    /** Hawtio's bulk reads are a few hundred KB at most. */
    static final int MAX_BODY = 4 << 20;

    @Bean
    FilterRegistrationBean<OncePerRequestFilter> jolokiaTargetRefusal() {
        FilterRegistrationBean<OncePerRequestFilter> r = new FilterRegistrationBean<>(new Refusal());
        r.addUrlPatterns("/actuator/jolokia", "/actuator/jolokia/*", "/actuator/hawtio/jolokia",
                "/actuator/hawtio/jolokia/*");
        return r;
    }

    static final class Refusal extends OncePerRequestFilter {
        private static final ObjectMapper JSON = new ObjectMapper();

        @Override
        protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
                throws ServletException, IOException {
            if (!"POST".equalsIgnoreCase(request.getMethod())) {
                chain.doFilter(request, response);
                return;
            }
            byte[] body = request.getInputStream().readNBytes(MAX_BODY + 1);
            if (body.length > MAX_BODY) {
                refuse(response, 413, "Payload Too Large", "a Jolokia request larger than " + MAX_BODY + " bytes");
                return;
            }
            if (namesTarget(body)) {
                refuse(response, 403, "Forbidden", "Jolokia proxy requests (\\\"target\\\") are refused: the hub "
                        + "connects to no other JMX agent");
                return;
            }
            chain.doFilter(new Buffered(request, body), response);
        }

        static boolean namesTarget(byte[] body) {
            JsonNode node;
            try {
                node = JSON.readTree(body);
            } catch (IOException e) {
                return false; // not JSON: Jolokia answers its own error and cannot find a target in it either
            }
            if (node != null && node.isArray()) {
                for (JsonNode n : node) {
                    if (n.has("target")) {
                        return true;
                    }
                }
                return false;
            }
            return node != null && node.has("target");
        }

        private static void refuse(HttpServletResponse response, int status, String title, String detail)
                throws IOException {
            response.setStatus(status);
            response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
            response.getOutputStream().write(("{\"type\":\"about:blank\",\"title\":\"" + title + "\",\"status\":"
                    + status + ",\"detail\":\"" + detail + "\"}").getBytes(StandardCharsets.UTF_8));
        }
    }

    /** The request with its body read once and served again. */
    static final class Buffered extends HttpServletRequestWrapper {
        private final byte[] body;

        Buffered(HttpServletRequest request, byte[] body) {
            super(request);
            this.body = body;
        }

        @Override
        public ServletInputStream getInputStream() {
            ByteArrayInputStream in = new ByteArrayInputStream(body);
            return new ServletInputStream() {
                @Override
                public int read() {
                    return in.read();
                }

                @Override
                public int read(byte[] b, int off, int len) {
                    return in.read(b, off, len);
                }

                @Override
                public boolean isFinished() {
                    return in.available() == 0;
                }

                @Override
                public boolean isReady() {
                    return true;
                }

                @Override
                public void setReadListener(ReadListener listener) {
                    throw new UnsupportedOperationException();
                }
            };
        }

        @Override
        public BufferedReader getReader() {
            String enc = getCharacterEncoding();
            return new BufferedReader(new InputStreamReader(getInputStream(),
                    enc == null ? StandardCharsets.UTF_8 : java.nio.charset.Charset.forName(enc)));
        }

        @Override
        public int getContentLength() {
            return body.length;
        }

        @Override
        public long getContentLengthLong() {
            return body.length;
        }
    }
}
