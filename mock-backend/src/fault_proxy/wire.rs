//! Just enough HTTP/1.1 framing for the proxy: whole messages framed by `Content-Length`.

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Largest message head accepted (a guard against a peer that never ends its head).
const MAX_HEAD: usize = 64 * 1024;

/// Bytes read from one direction of a connection and not yet returned as a message.
#[derive(Debug, Default)]
pub(super) struct MessageReader {
    buf: Vec<u8>,
}

/// Reads one whole message (head and `Content-Length` body); `None` at a clean end of stream.
pub(super) async fn read_message(
    stream: &mut TcpStream,
    reader: &mut MessageReader,
) -> std::io::Result<Option<Vec<u8>>> {
    loop {
        if let Some(total) = message_len(&reader.buf)? {
            if reader.buf.len() >= total {
                let rest = reader.buf.split_off(total);
                return Ok(Some(std::mem::replace(&mut reader.buf, rest)));
            }
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        reader.buf.extend_from_slice(&chunk[..n]);
    }
}

/// The length of the message at the start of `buf`, once its head is complete.
fn message_len(buf: &[u8]) -> std::io::Result<Option<usize>> {
    let Some(head_end) = find(buf, b"\r\n\r\n") else {
        if buf.len() > MAX_HEAD {
            return Err(invalid("message head too long"));
        }
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    if head.contains("transfer-encoding: chunked") {
        return Err(invalid("chunked messages are not supported"));
    }
    let body_len = match head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
    {
        Some(value) => value
            .trim()
            .parse::<usize>()
            .map_err(|_| invalid("bad content-length"))?,
        None => 0,
    };
    Ok(Some(head_end + 4 + body_len))
}

/// Method and path of a request.
pub(super) fn request_line(request: &[u8]) -> (String, String) {
    let line_end = find(request, b"\r\n").unwrap_or(request.len());
    let line = String::from_utf8_lossy(&request[..line_end]);
    let mut words = line.split(' ');
    let method = words.next().unwrap_or_default().to_owned();
    let path = words.next().unwrap_or_default().to_owned();
    (method, path)
}

/// A message split into its head (with the blank line) and its body.
pub(super) fn split_body(message: &[u8]) -> (&[u8], &[u8]) {
    let at = find(message, b"\r\n\r\n")
        .map(|i| i + 4)
        .unwrap_or(message.len());
    message.split_at(at)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_ends_after_its_content_length() {
        let msg = b"POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET";
        assert_eq!(message_len(msg).unwrap(), Some(msg.len() - 3));
        assert_eq!(message_len(b"GET / HTTP/1.1\r\n").unwrap(), None);
        assert_eq!(
            message_len(b"GET / HTTP/1.1\r\n\r\n").unwrap(),
            Some(18),
            "no content-length: no body"
        );
    }

    #[test]
    fn chunked_and_garbled_lengths_are_refused() {
        assert!(message_len(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").is_err());
        assert!(message_len(b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n").is_err());
        assert!(message_len(&vec![b'a'; MAX_HEAD + 1]).is_err());
    }

    #[test]
    fn request_line_and_body_split() {
        let msg = b"POST /rps/v1/payments?x=1 HTTP/1.1\r\nHost: h\r\n\r\n{}";
        assert_eq!(
            request_line(msg),
            ("POST".to_owned(), "/rps/v1/payments?x=1".to_owned())
        );
        assert_eq!(split_body(msg).1, b"{}");
    }
}
