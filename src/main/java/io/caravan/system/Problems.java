package io.caravan.system;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

/**
 * Every API error as {@code application/problem+json} (RFC 9457). Details name what was wrong with the request,
 * never a stored value.
 */
@RestControllerAdvice
public class Problems extends ResponseEntityExceptionHandler {

    private static final Logger log = LoggerFactory.getLogger(Problems.class);

    /** A resource that does not exist (404). */
    public static final class NotFound extends RuntimeException {
        public NotFound(String detail) {
            super(detail);
        }
    }

    /** A request that conflicts with the resource's state, e.g. revoking what is already revoked (409). */
    public static final class Conflict extends RuntimeException {
        public Conflict(String detail) {
            super(detail);
        }
    }

    /**
     * The audit trail could not record an action, so the action was refused (503). Declared here and thrown by the
     * trail (which extends it), so that this support package depends on no domain package.
     */
    public abstract static class Unaudited extends RuntimeException {
        protected Unaudited(String message, Throwable cause) {
            super(message, cause);
        }
    }

    @ExceptionHandler(Conflict.class)
    ProblemDetail conflict(Conflict e) {
        return problem(HttpStatus.CONFLICT, "Conflict", e.getMessage());
    }

    /** The audit trail could not record the action: the action is refused rather than left unaudited (503). */
    @ExceptionHandler(Unaudited.class)
    ProblemDetail auditUnavailable(RuntimeException e) {
        log.error("Refused an API action: the audit trail could not record it");
        return problem(HttpStatus.SERVICE_UNAVAILABLE, "Audit trail unavailable",
                "the action was not performed because it could not be audited");
    }

    @ExceptionHandler(NotFound.class)
    ProblemDetail notFound(NotFound e) {
        return problem(HttpStatus.NOT_FOUND, "Not found", e.getMessage());
    }

    @ExceptionHandler({IllegalArgumentException.class, MethodArgumentTypeMismatchException.class})
    ProblemDetail badRequest(Exception e) {
        String detail = e instanceof MethodArgumentTypeMismatchException m
                ? "parameter '" + m.getName() + "' has the wrong format" : e.getMessage();
        return problem(HttpStatus.BAD_REQUEST, "Bad request", detail);
    }

    @ExceptionHandler(Exception.class)
    ProblemDetail unexpected(Exception e) {
        // the class name only: a message could quote data
        log.error("Unhandled API error ({})", e.getClass().getName());
        return problem(HttpStatus.INTERNAL_SERVER_ERROR, "Internal error", "the request could not be completed");
    }

    static ProblemDetail problem(HttpStatus status, String title, String detail) {
        ProblemDetail p = ProblemDetail.forStatusAndDetail(status, detail);
        p.setTitle(title);
        return p;
    }

}
