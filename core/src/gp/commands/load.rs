//! LOAD (Card Specification §11.6): the load file, wrapped as `C4 L load-file-data` (optionally
//! preceded by `E2` DAP blocks), cut into blocks numbered from 0 in P2; P1 `80` marks the last
//! block, `00` more blocks.

use super::{expect_command, gp_command, ins, tag};
use crate::apdu::tlv::iter;
use crate::apdu::tlv_build::encode_tlv;
use crate::apdu::CommandApdu;
use crate::gp::GpError;

/// P1 of the last LOAD block.
pub const P1_LAST_BLOCK: u8 = 0x80;
/// Most blocks one load can have (P2 is one byte).
pub const MAX_BLOCKS: usize = 256;

/// One LOAD command.
#[derive(Clone, PartialEq, Eq)]
pub struct LoadBlock {
    /// Whether this is the last block (P1 `80`).
    pub last: bool,
    /// Block number (P2), from 0.
    pub block_number: u8,
    /// The block's bytes.
    pub data: Vec<u8>,
}

impl LoadBlock {
    /// The command APDU (`80 E8 P1 P2 Lc data 00`).
    pub fn to_apdu(&self) -> Result<CommandApdu, GpError> {
        let p1 = if self.last { P1_LAST_BLOCK } else { 0x00 };
        gp_command(ins::LOAD, p1, self.block_number, self.data.clone(), true)
    }

    /// Decodes a LOAD command (card side).
    pub fn parse(cmd: &CommandApdu) -> Result<LoadBlock, GpError> {
        expect_command(cmd, ins::LOAD, "not LOAD")?;
        let last = match cmd.p1() {
            P1_LAST_BLOCK => true,
            0x00 => false,
            _ => return Err(GpError::InvalidParameter("LOAD P1 must be 00 or 80")),
        };
        if cmd.data().is_empty() {
            return Err(GpError::MalformedCommand("LOAD without data"));
        }
        Ok(LoadBlock {
            last,
            block_number: cmd.p2(),
            data: cmd.data().to_vec(),
        })
    }
}

impl std::fmt::Debug for LoadBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadBlock")
            .field("last", &self.last)
            .field("block_number", &self.block_number)
            .field("len", &self.data.len())
            .finish()
    }
}

/// The LOAD commands for a load file (e.g. the CAP file components): wrapped in `C4`, cut
/// into blocks of at most `block_size` bytes (leave room for secure messaging overhead).
pub fn load_commands(load_file: &[u8], block_size: usize) -> Result<Vec<CommandApdu>, GpError> {
    if block_size == 0 || block_size > 255 {
        return Err(GpError::InvalidParameter(
            "LOAD block size must be 1 to 255",
        ));
    }
    let mut wrapped = Vec::with_capacity(load_file.len() + 5);
    encode_tlv(tag(0xC4)?, load_file, &mut wrapped);
    let count = wrapped.len().div_ceil(block_size);
    if count > MAX_BLOCKS {
        return Err(GpError::InvalidParameter(
            "load file needs more than 256 LOAD blocks",
        ));
    }
    wrapped
        .chunks(block_size)
        .enumerate()
        .map(|(i, chunk)| {
            LoadBlock {
                last: i + 1 == count,
                block_number: u8::try_from(i)
                    .map_err(|_| GpError::InvalidParameter("block number"))?,
                data: chunk.to_vec(),
            }
            .to_apdu()
        })
        .collect()
}

/// Card side: collects LOAD blocks in order and yields the load file when the last arrives.
#[derive(Debug, Clone)]
pub struct LoadAssembler {
    next_block: usize,
    buffer: Vec<u8>,
    max_len: usize,
    done: bool,
}

impl LoadAssembler {
    /// An assembler accepting at most `max_len` bytes (the card's free memory).
    pub fn new(max_len: usize) -> LoadAssembler {
        LoadAssembler {
            next_block: 0,
            buffer: Vec::new(),
            max_len,
            done: false,
        }
    }

    /// Adds a block; returns the load file data (the value of `C4`) after the last block.
    /// Blocks out of sequence, too much data or a missing `C4` are errors.
    pub fn push(&mut self, block: &LoadBlock) -> Result<Option<Vec<u8>>, GpError> {
        if self.done || usize::from(block.block_number) != self.next_block {
            return Err(GpError::MalformedCommand("LOAD block out of sequence"));
        }
        if self.buffer.len() + block.data.len() > self.max_len {
            return Err(GpError::InvalidParameter(
                "load file exceeds the memory available",
            ));
        }
        self.buffer.extend_from_slice(&block.data);
        self.next_block += 1;
        if !block.last {
            return Ok(None);
        }
        self.done = true;
        for tlv in iter(&self.buffer) {
            let tlv = tlv.map_err(|_| GpError::MalformedCommand("load file structure"))?;
            match tlv.tag().value() {
                0xC4 => return Ok(Some(tlv.value().to_vec())),
                0xE2 => continue,
                _ => break,
            }
        }
        Err(GpError::MalformedCommand("load file without C4"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_numbered_and_the_last_marked() {
        let file: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        let cmds = load_commands(&file, 128).unwrap();
        // C4 82 01 2C + 300 bytes = 304 bytes: blocks of 128, 128, 48.
        assert_eq!(cmds.len(), 3);
        assert_eq!(
            hex::encode_upper(&cmds[0].to_bytes()[..9]),
            "80E8000080C482012C"
        );
        assert_eq!((cmds[1].p1(), cmds[1].p2()), (0x00, 0x01));
        assert_eq!(
            (cmds[2].p1(), cmds[2].p2(), cmds[2].data().len()),
            (0x80, 0x02, 48)
        );

        let mut assembler = LoadAssembler::new(1000);
        let mut result = None;
        for cmd in &cmds {
            result = assembler.push(&LoadBlock::parse(cmd).unwrap()).unwrap();
        }
        assert_eq!(result, Some(file));
    }

    #[test]
    fn assembler_rejects_bad_sequences() {
        let cmds = load_commands(&[7; 40], 16).unwrap();
        let blocks: Vec<LoadBlock> = cmds.iter().map(|c| LoadBlock::parse(c).unwrap()).collect();
        let mut a = LoadAssembler::new(1000);
        assert!(a.push(&blocks[1]).is_err());
        let mut a = LoadAssembler::new(20);
        a.push(&blocks[0]).unwrap();
        assert!(a.push(&blocks[1]).is_err(), "over the memory limit");
        let mut a = LoadAssembler::new(100);
        let junk = LoadBlock {
            last: true,
            block_number: 0,
            data: vec![0xC5, 0x01, 0x00],
        };
        assert!(a.push(&junk).is_err());
        assert!(a.push(&junk).is_err(), "nothing after the last block");
        assert!(load_commands(&[0; 10], 0).is_err());
        assert!(load_commands(&vec![0; 256 * 255], 255).is_err());
        let bad_p1 = CommandApdu::new(0x80, 0xE8, 0x01, 0x00)
            .with_data(vec![1])
            .unwrap();
        assert!(LoadBlock::parse(&bad_p1).is_err());
    }

    #[test]
    fn dap_blocks_before_c4_are_skipped() {
        let mut a = LoadAssembler::new(100);
        let block = LoadBlock {
            last: true,
            block_number: 0,
            data: hex::decode("E203010203C4020A0B").unwrap(),
        };
        assert_eq!(a.push(&block).unwrap(), Some(vec![0x0A, 0x0B]));
    }
}
